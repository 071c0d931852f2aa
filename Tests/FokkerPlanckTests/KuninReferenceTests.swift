import FokkerPlanck
import Foundation
import XCTest

/// Kunin et al.'s closed forms (THEORY §3) against the Lyapunov solution of the phase-space OU model
/// they describe, and the `sgd-momentum` problem type.
final class KuninReferenceTests: XCTestCase {
    func lyapunovCovariance(_ parameters: SGDMomentumParameters) throws -> Matrix {
        try OrnsteinUhlenbeckReference(parameters.linearModel()).covariance
    }

    func testCommutingNoiseWithWeightDecay() throws {
        let h = Matrix([[3.0, 1.0], [1.0, 2.0]])
        let sigma2 = 0.8
        let parameters = SGDMomentumParameters(hessian: h, learningRate: 0.05, momentum: 0.7, batchSize: 8,
                                               gradientNoise: sigma2 * h, weightDecay: 0.3, minimum: [0.5, -1])
        let kunin = try KuninReference(parameters)
        let lyapunov = try lyapunovCovariance(parameters)
        // Both exact: agreement to round-off × the condition of the 16×16 Kronecker system.
        XCTAssertLessThan((kunin.covariance - lyapunov).maxAbs / lyapunov.maxAbs, 1e-12)
        // Commuting: no θ–v correlation, P = η/(2S(1−β)) Σ (H+λI)⁻¹, R = Σ/(S(1−β²)).
        XCTAssertLessThan(kunin.crossCovariance.maxAbs, 1e-14)
        let p = (0.05 / (2 * 8 * 0.3)) * (sigma2 * h) * (try (h + 0.3 * Matrix.identity(2)).inverse())
        XCTAssertLessThan((kunin.positionCovariance - p).maxAbs, 1e-14)
        XCTAssertLessThan((kunin.velocityCovariance - (1 / (8 * (1 - 0.49))) * (sigma2 * h)).maxAbs, 1e-13)
    }

    /// λ = 0, Σ = σ²H: the position spread is isotropic whatever H is.
    func testIsotropicPositionSpread() throws {
        let h = Matrix([[10.0, 2.0], [2.0, 0.5]])
        let parameters = SGDMomentumParameters(hessian: h, learningRate: 0.02, momentum: 0.9, batchSize: 16, gradientNoise: 2 * h)
        let p = try KuninReference(parameters).positionCovariance
        let expected = 0.02 * 2 / (2 * 16 * 0.1)
        XCTAssertLessThan((p - expected * Matrix.identity(2)).maxAbs, 1e-14)
        XCTAssertLessThan((try lyapunovCovariance(parameters)).asymmetry, 1e-12)
    }

    /// Σ not commuting with H: the eigenbasis formulas, with a non-zero θ–v block.
    func testGeneralNoiseHasThetaVelocityCorrelation() throws {
        let h = Matrix([[2.0, 0.0], [0.0, 0.5]])
        let sigma = Matrix([[1.0, 0.6], [0.6, 0.8]])
        let parameters = SGDMomentumParameters(hessian: h, learningRate: 0.1, momentum: 0.5, batchSize: 4, gradientNoise: sigma)
        let kunin = try KuninReference(parameters)
        let lyapunov = try lyapunovCovariance(parameters)
        XCTAssertLessThan((kunin.covariance - lyapunov).maxAbs / lyapunov.maxAbs, 1e-12)
        XCTAssertGreaterThan(kunin.crossCovariance.maxAbs, 1e-3)
    }

    /// ρ ∝ exp(−Ψ/κ): Ψ/κ is the Gaussian's quadratic form ½ zᵀC⁻¹z.
    func testModifiedLossIsTheStationaryPotential() throws {
        let h = Matrix([[1.5, 0.4], [0.4, 0.7]])
        let sigma2 = 0.6, s = 5.0, beta = 0.8
        let parameters = SGDMomentumParameters(hessian: h, learningRate: 0.1, momentum: beta, batchSize: s,
                                               gradientNoise: sigma2 * h, weightDecay: 0.2, minimum: [1, 2])
        let kunin = try KuninReference(parameters)
        let kappa = KuninReference.kappa(noiseScale: sigma2, batchSize: s, momentum: beta)
        let precision = try kunin.covariance.inverse()
        // The stationary state is centred at the heavy ball's fixed point μ_λ = (H + λI)⁻¹Hμ.
        let centre = try (h + 0.2 * Matrix.identity(2)).solve(h * [1.0, 2.0])
        for point in [[1.3, 1.5, 0.2, -0.4], [0.2, 2.7, -1.0, 0.5]] {
            let z = [point[0] - centre[0], point[1] - centre[1], point[2], point[3]]
            let psi = try kunin.modifiedLoss(theta: [point[0], point[1]], velocity: [point[2], point[3]])
            XCTAssertEqual(psi / kappa, 0.5 * precision.quadraticForm(z), accuracy: 1e-12 * psi / kappa)
        }
        // Rotation frequencies are sqrt(eig K).
        let k = try parameters.stiffness.symmetricEigenvalues()
        let omegas = kunin.rotationFrequencies
        for i in 0..<2 { XCTAssertEqual(omegas[i] * omegas[i], k[i], accuracy: 1e-12 * k[i]) }
    }

    /// With weight decay the heavy ball θ ← θ − η(H(θ − μ) + λθ) + β(θ − θ_prev) stands still where
    /// its step is zero, at μ_λ = (H + λI)⁻¹Hμ, not at μ (issue 9): the phase-space model is centred
    /// there and its drift vanishes there.
    func testWeightDecayCentresTheStationaryStateAtTheFixedPoint() throws {
        let h = Matrix([[3.0, 1.0], [1.0, 2.0]]), lambda = 0.3, mu = [0.5, -1.0]
        let parameters = SGDMomentumParameters(hessian: h, learningRate: 0.05, momentum: 0.7, batchSize: 8,
                                               gradientNoise: 0.8 * h, weightDecay: lambda, minimum: mu)
        let centre = parameters.fixedPoint
        // The full gradient with weight decay vanishes there (round-off of a 2×2 solve).
        let residual = h * zip(centre, mu).map { $0 - $1 }
        for i in 0..<2 { XCTAssertEqual(residual[i] + lambda * centre[i], 0, accuracy: 1e-14) }
        XCTAssertGreaterThan(hypot(centre[0] - mu[0], centre[1] - mu[1]), 0.1)  // and it is not μ (0.2 away)
        let model = parameters.linearModel()
        XCTAssertEqual(model.center, centre + [0, 0])
        for value in model.drift(at: centre + [0, 0]) { XCTAssertEqual(value, 0, accuracy: 1e-12) }
        // Without weight decay, or with μ = 0, μ_λ = μ.
        XCTAssertEqual(SGDMomentumParameters(hessian: h, learningRate: 0.05, momentum: 0.7, batchSize: 8,
                                             gradientNoise: 0.8 * h, minimum: mu).fixedPoint, mu)
    }

    /// The discrete heavy ball's exact variance tends to the continuous P as ηh → 0.
    func testDiscreteHeavyBallVarianceApproachesTheContinuousModel() {
        let h = 2.0, sigma2 = 1.0, beta = 0.9, s = 4.0
        var gaps: [Double] = []
        for eta in [0.1, 0.01, 0.001] {
            let discrete = KuninReference.discreteHeavyBallVariance(curvature: h, noiseScale: sigma2, learningRate: eta, momentum: beta, batchSize: s)
            let continuous = eta * sigma2 / (2 * s * (1 - beta))
            gaps.append(abs(discrete / continuous - 1))
        }
        // The relative gap is ηh/(2(1+β)) + O((ηh)²): first order in η.
        XCTAssertEqual(gaps[0], 0.1 * h / (2 * 1.9 - 0.1 * h), accuracy: 1e-12)
        XCTAssertLessThan(gaps[2], gaps[1])
        XCTAssertLessThan(gaps[1], gaps[0])
    }

    func testProblemTypeWithDefaultDomain() throws {
        let problem = try Problem(text: """
            [model]
            type = "sgd-momentum"
            hessian = [[2.0, 0.3], [0.3, 1.0]]
            learning_rate = 0.1
            momentum = 0.9
            batch_size = 4
            noise_scale = 1.0
            weight_decay = 0.1
            """)
        XCTAssertEqual(problem.grid.axes.map(\.name), ["theta1", "theta2", "v1", "v2"])
        XCTAssertEqual(problem.grid.shape, [16, 16, 16, 16])
        let kunin = try KuninReference(SGDMomentumParameters(hessian: Matrix([[2.0, 0.3], [0.3, 1.0]]), learningRate: 0.1, momentum: 0.9,
                                                             batchSize: 4, gradientNoise: Matrix([[2.0, 0.3], [0.3, 1.0]]), weightDecay: 0.1))
        for k in 0..<4 {
            XCTAssertEqual(problem.grid.axes[k].upper, 6 * kunin.covariance[k, k].squareRoot(), accuracy: 1e-12)
        }
        XCTAssertThrowsError(try Problem(text: "[model]\ntype = \"sgd-momentum\"\nhessian = [[1.0]]\nlearning_rate = 0.1\nmomentum = 1.0\nbatch_size = 1\nnoise_scale = 1\n")) { error in
            XCTAssertTrue(String(describing: error).contains("model.momentum"))
        }
    }
}

/// grids/sgd-momentum-p1.toml's model (H = 2, η = 0.1, β = 0.9, S = 4, σ² = 1) on n² cells.
func sgdMomentumP1(cells n: Int) throws -> Problem {
    try Problem(text: """
        [model]
        type = "sgd-momentum"
        hessian = [[2.0]]
        learning_rate = 0.1
        momentum = 0.9
        batch_size = 4
        noise_scale = 1.0
        [grid]
        cells = [\(n), \(n)]
        """)
}

/// The sgd-momentum outputs: marginals, the modified loss beside Φ, the moments.
final class SGDMomentumOutputTests: XCTestCase {
    func testMarginalsModifiedLossAndMoments() throws {
        let problem = try sgdMomentumP1(cells: 128)
        let solution = try problem.solver.solve(FiniteVolumeScheme(grid: problem.grid, model: problem.model.coefficients))
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sgdm-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("sgdm.h5").path
        let target = try OutputTarget(checking: path, keyPath: "path", inputs: [], force: false,
                                      estimatedBytes: StationaryOutput.estimatedBytes(problem: problem))
        try StationaryOutput.write(problem: problem, solution: solution, wallSeconds: 0, to: target)
        let grid = problem.grid
        let theta = try OutputSummary.read("marginal_theta", from: path)
        XCTAssertEqual(theta.shape, [128])
        // Σ over θ of ρ(θ) h_θ = total mass (compensated sums: a few ulps).
        XCTAssertEqual(theta.values.reduce(0, +) * grid.axes[0].spacing, 1, accuracy: 1e-12)
        let velocity = try OutputSummary.read("marginal_v", from: path)
        XCTAssertEqual(velocity.values.reduce(0, +) * grid.axes[1].spacing, 1, accuracy: 1e-12)
        // Φ − TΨ/κ is a constant up to the discretization error: ρ-weighted spread measured 8.6e-3
        // at 128² (the density's own L1 error is 8.4e-3); bound with a factor 2.
        let phi = try OutputSummary.read("potential", from: path).values
        let psi = try OutputSummary.read("modified_loss", from: path).values
        var weight = 0.0, mean = 0.0
        for c in 0..<grid.cellCount where phi[c].isFinite { weight += solution.density[c]; mean += solution.density[c] * (phi[c] - psi[c]) }
        mean /= weight
        var spread = 0.0
        for c in 0..<grid.cellCount where phi[c].isFinite { spread += solution.density[c] * abs(phi[c] - psi[c] - mean) }
        XCTAssertLessThan(spread / weight, 1.7e-2)
        // The moments of the density against Kunin's diag(P, R): second-order discretization error,
        // measured 1.5 % at 128²; 3 % bound.
        let summary = try OutputSummary(contentsOf: path)
        guard case let .doubles(covariance)? = summary.attribute("stationary_covariance"),
              case let .doubles(kunin)? = summary.attribute("kunin_covariance") else { return XCTFail("no moments") }
        XCTAssertEqual(covariance[0] / kunin[0], 1, accuracy: 0.03)
        XCTAssertEqual(covariance[3] / kunin[3], 1, accuracy: 0.03)
    }

    /// State-dependent noise: the marginals and the model's matrices, but none of Kunin's
    /// constant-noise closed forms (they do not hold), and `noise` says which.
    func testStateDependentNoiseWritesMarginalsButNoKuninClosedForms() throws {
        let problem = try Problem(text: """
            [model]
            type = "sgd-momentum"
            hessian = [[2.0]]
            learning_rate = 0.1
            momentum = 0.9
            batch_size = 32
            noise_scale = 1.0
            noise = "state-dependent"
            [grid]
            lower = [-0.89, -4.1]
            upper = [0.89, 4.1]
            cells = [48, 48]
            """)
        let solution = try problem.solver.solve(FiniteVolumeScheme(grid: problem.grid, model: problem.model.coefficients))
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sgdm-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("sgdm.h5").path
        let target = try OutputTarget(checking: path, keyPath: "path", inputs: [], force: false,
                                      estimatedBytes: StationaryOutput.estimatedBytes(problem: problem))
        try StationaryOutput.write(problem: problem, solution: solution, wallSeconds: 0, to: target)
        let summary = try OutputSummary(contentsOf: path)
        let names = Set(summary.datasets.map(\.name))
        XCTAssertTrue(names.isSuperset(of: ["marginal_theta", "marginal_v", "hessian", "gradient_noise", "stationary_covariance"]), "\(names)")
        XCTAssertFalse(names.contains("modified_loss"))
        XCTAssertFalse(names.contains("kunin_covariance"))
        XCTAssertNil(summary.attribute("kunin_covariance"))
        guard case let .string(noise)? = summary.attribute("noise") else { return XCTFail("no noise attribute") }
        XCTAssertEqual(noise, "state-dependent")
        // Σ over θ of ρ(θ) h_θ = total mass (compensated sums: a few ulps).
        let theta = try OutputSummary.read("marginal_theta", from: path)
        XCTAssertEqual(theta.values.reduce(0, +) * problem.grid.axes[0].spacing, 1, accuracy: 1e-12)
    }
}

/// E(θ(t) − θ(0))² from stationarity: computed by propagating θ ρ_ss with the discrete operator,
/// against Kunin's closed form over three decades of t.
final class AnomalousDiffusionTests: XCTestCase {
    func testMeanSquaredDisplacementOverThreeDecades() throws {
        let parameters = SGDMomentumParameters(hessian: Matrix([[2.0]]), learningRate: 0.1, momentum: 0.9, batchSize: 4,
                                               gradientNoise: Matrix([[2.0]]))
        let kunin = try KuninReference(parameters)
        let times = [0.01, 0.03, 0.1, 0.3, 1, 3, 10]
        var worst: [Double] = [], spacings: [Double] = []
        for n in [64, 128] {
            let problem = try sgdMomentumP1(cells: n)
            let scheme = FiniteVolumeScheme(grid: problem.grid, model: problem.model.coefficients)
            let stationary = try problem.solver.solve(scheme)
            let computed = try StationaryCorrelation.meanSquaredDisplacement(scheme: scheme, stationary: stationary.density,
                                                                             axes: [0], times: times,
                                                                             maxStep: 0.2 / kunin.rotationFrequencies.max()! / 8)
            var error = 0.0
            for (t, value) in zip(times, computed) {
                let exact = kunin.meanSquaredDisplacement(at: t)
                print(String(format: "MSD %d² t = %-5g computed %.6e exact %.6e ratio %.4f", n, t, value, exact, value / exact))
                error = max(error, abs(value / exact - 1))
            }
            worst.append(error)
            spacings.append(problem.grid.spacing.max()!)
        }
        // The curve inherits the error of the discrete stationary state and operator: centred
        // fluxes gave 0.89 % / 0.24 % worst at 64² / 128² over t = 0.01…10 (order 1.9); the
        // equilibrium-split fluxes (issue 9) give 0.099 % / 0.037 %, which reaches the
        // Crank–Nicolson floor (~0.02 % at Δt ω ≤ 0.025), so the observed order (1.44) is
        // reported, not held: the bounds are twice the measured errors.
        let order = observedOrders(errors: worst, spacings: spacings)[0]
        print("MSD worst relative errors \(worst), order \(order)")
        XCTAssertLessThan(worst[0], 0.002)
        XCTAssertLessThan(worst[1], 0.00075)
        // The closed form itself: R t² early, 2P late.
        XCTAssertEqual(kunin.meanSquaredDisplacement(at: 1e-4) / (kunin.velocityCovariance[0, 0] * 1e-8), 1, accuracy: 1e-3)
        XCTAssertEqual(kunin.meanSquaredDisplacement(at: 200) / (2 * kunin.positionCovariance[0, 0]), 1, accuracy: 1e-12)
    }
}

/// Phase space is solved with the equilibrium-split flux: the friction part fitted, the rotation
/// transported upwind-biased. Exponential fitting of the whole drift along v smears the rotation
/// (it turns into upwinding at the grid Péclet numbers of the underdamped model).
final class PhaseSpaceFluxTests: XCTestCase {
    func testSplitFluxesResolveTheRotation() throws {
        let problem = try sgdMomentumP1(cells: 32)
        let model = problem.model.coefficients
        func thetaVariance(_ flux: FiniteVolumeScheme.DriftFlux) throws -> Double {
            let scheme = FiniteVolumeScheme(grid: problem.grid, model: model, driftFlux: flux)
            let density = try problem.solver.solve(scheme).density
            var x = [0.0, 0.0]
            let weighted = (0..<problem.grid.cellCount).map { c -> Double in
                problem.grid.centre(c, into: &x)
                return x[0] * x[0] * density[c]
            }
            return problem.grid.integrate(weighted)
        }
        XCTAssertEqual(FiniteVolumeScheme(grid: problem.grid, model: model).driftFlux, .equilibriumSplit)
        let exact = 0.125  // P = ησ²/(2S(1−β)), grids/sgd-momentum-p1.toml
        let split = abs(try thetaVariance(.automatic) / exact - 1)
        let centred = abs(try thetaVariance(.centred) / exact - 1)
        let fitted = abs(try thetaVariance(.exponentialFitting) / exact - 1)
        print("θ variance relative error at 32², split \(split), centred \(centred), fitted \(fitted)")
        // Measured: centred 0.0352 = 36/32² (h²/(4σ²) on the ±6σ box), fitted 0.26; the split flux
        // is at least as good as centred (the moments of a linear model come out exact in space up
        // to the box truncation, see validation/cases/phase-space-degenerate.toml).
        XCTAssertLessThan(split, 0.04)
        XCTAssertGreaterThan(fitted, 3 * centred)

        // A model without an equilibrium potential (an unstable A) keeps the old automatic choice.
        let unstable = LinearModel(driftMatrix: Matrix([[-1.0, 0.0], [0.0, 2.0]]), diffusion: Matrix([[1.0, 0.0], [0.0, 0.5]]))
        XCTAssertFalse(unstable.hasEquilibriumPotential)
        XCTAssertEqual(FiniteVolumeScheme(grid: problem.grid, model: unstable).driftFlux, .exponentialFitting)
    }
}
