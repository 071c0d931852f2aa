import XCTest
@testable import FokkerPlanck

/// Issue 10, item 3: evolution with the Hermite discretization and the exponential integrator,
/// against the exact Gaussian transients of Kunin's p = 1 and p = 2 (general Σ) models.
final class SpectralEvolutionTests: XCTestCase {
    /// The evolution of a problem file's transient in Hermite modes with `scheme = "exponential"`.
    func evolve(_ name: String, modes: Int, frames: Int? = nil) throws -> (Problem, HermiteDiscretization, FrameCollector, EvolutionSummary) {
        var problem = try Problem(contentsOf: CommandLineTests.repository.appendingPathComponent("grids/\(name).toml").path)
        problem.discretizationSettings = .spectral(basis: Array(repeating: "hermite", count: problem.grid.dimension),
                                                   modes: Array(repeating: modes, count: problem.grid.dimension), centre: nil, scale: nil)
        var settings = try XCTUnwrap(problem.evolve)
        settings.scheme = .exponential
        // The files' starts are narrow (variance 0.01 against the stationary 0.125 along θ for
        // p = 1): their Hermite series in the stationary basis fall by only |1 − λ|^{1/2} ≈ 0.96
        // a degree (λ the variance ratio), hundreds of degrees to 1e-8 — a start for the grid.
        // Here: 0.6 of the stationary covariance, displaced by 0.8 σ along the first axis
        // (|1 − 0.6|^{1/2} = 0.63 a degree; the mean's part falls like 0.8ⁿ/√n!).
        let stationary = try OrnsteinUhlenbeckReference(problem.model.linearModel!)
        var mean0 = stationary.center
        mean0[0] += 0.8 * stationary.covariance[0, 0].squareRoot()
        settings.initial = .gaussian(mean: mean0, covariance: 0.6 * stationary.covariance)
        if let frames { settings.frames = frames }
        problem.evolve = settings
        let hermite = try XCTUnwrap(try problem.discretization() as? HermiteDiscretization)
        let (state, start) = try hermite.initialState(settings.initial!)
        XCTAssertEqual(start, 0)
        let recorder = FrameCollector()
        let summary = try Evolution(discretization: hermite, settings: settings).run(initialState: state, observers: [recorder])
        return (problem, hermite, recorder, summary)
    }

    /// Mean and covariance at every frame within 1e-8 of the closed form (the generator keeps or
    /// raises the total degree, so the coefficients of degree ≤ 2 evolve exactly whatever the
    /// truncation; what is left is the Krylov exponential's tolerance, 1e-14 per frame, and the
    /// Padé exponentials of the reference), mass 1 to round-off, and the density on the grid
    /// converging geometrically in the modes.
    func testKuninTransientsAreExactInTheirMomentsAndSpectralInTheirDensity() throws {
        for (name, modes, dimension) in [("sgd-momentum-p1-transient", [8, 16, 24, 32], 2), ("sgd-momentum-p2-transient", [8, 12, 16], 4)] {
            var worstDensity: [Double] = []
            for m in modes {
                let (problem, hermite, recorder, summary) = try evolve(name, modes: m)
                XCTAssertEqual(hermite.grid.dimension, dimension)
                let settings = problem.evolve!
                guard case let .gaussian(mean0, covariance0)? = settings.initial else { return XCTFail("gaussian start expected") }
                let exact = try OrnsteinUhlenbeckTransient(problem.model.linearModel!, initialMean: mean0, initialCovariance: covariance0)
                XCTAssertEqual(recorder.times.count, settings.frames)
                // One Krylov exponential per frame at tolerance 1e-14, 20 frames.
                XCTAssertLessThan(summary.massDrift, 1e-12)
                var worst = 0.0, worstMoment = 0.0
                for (frame, t) in recorder.times.enumerated() {
                    let diagnostics = recorder.diagnostics[frame]
                    XCTAssertEqual(diagnostics.mass, 1, accuracy: 1e-12)
                    let mean = try exact.mean(at: t), covariance = try exact.covariance(at: t)
                    for i in 0..<dimension { worstMoment = max(worstMoment, abs(diagnostics.mean[i] - mean[i])) }
                    for k in 0..<(dimension * dimension) { worstMoment = max(worstMoment, abs(diagnostics.covariance[k] - covariance.elements[k])) }
                    let rho = try exact.density(at: t)
                    let reference = hermite.grid.sample(rho)
                    worst = max(worst, hermite.grid.integrate(zip(recorder.densities[frame], reference).map { abs($0 - $1) }))
                }
                XCTAssertLessThan(worstMoment, 1e-8, "\(name), \(m) modes")
                worstDensity.append(worst)
            }
            print("\(name): worst-frame L1(ρ) at modes \(modes): \(worstDensity.map { String(format: "%.2e", $0) })")
            for (coarse, fine) in zip(worstDensity, worstDensity.dropFirst()) { XCTAssertLessThan(fine, coarse / 3, "\(name): \(worstDensity)") }
        }
    }

    /// The Gaussian's coefficients are exact: its density on the grid is the sampled Gaussian to
    /// the series' tail, and one too wide for the basis (covariance ≥ 2 in ξ units) is refused.
    func testGaussianExpansion() throws {
        let model = LinearModel(driftMatrix: Matrix([[1.0, 0.3], [-0.4, 2.0]]), diffusion: Matrix([[0.5, 0.2], [0.2, 0.3]]), center: [0.3, -0.2])
        let grid = Grid(axes: [Axis(name: "x", lower: -4, upper: 4, cells: 40, boundary: .reflecting),
                               Axis(name: "y", lower: -4, upper: 4, cells: 40, boundary: .reflecting)])
        let covariance = Matrix([[0.2, 0.05], [0.05, 0.15]])
        let exact = try EvolveSettings.InitialCondition.gaussian(mean: [0.6, -0.5], covariance: covariance).density(on: grid).density
        var errors: [Double] = []
        var hermite: HermiteDiscretization! = nil
        for modes in [15, 30, 45, 60] {
            hermite = try HermiteDiscretization(model: model, grid: grid, modes: [modes, modes])
            let state = try hermite.gaussianState(mean: [0.6, -0.5], covariance: covariance)
            let diagnostics = hermite.diagnostics(of: state, density: hermite.density(of: state))
            XCTAssertEqual(diagnostics.mass, 1, accuracy: 1e-15)
            XCTAssertEqual(diagnostics.mean[0], 0.6, accuracy: 1e-14)
            XCTAssertEqual(diagnostics.mean[1], -0.5, accuracy: 1e-14)
            for k in 0..<4 { XCTAssertEqual(diagnostics.covariance[k], covariance.elements[k], accuracy: 1e-14) }
            // The sampled reference is normalised on the box (the mass outside ±4 is below 1e-20,
            // the midpoint rule's error on a Gaussian of σ = 2h is e^{−2π²σ²/h²}): the difference
            // is the series' tail.
            errors.append(grid.integrate(zip(hermite.density(of: state), exact).map { abs($0 - $1) }))
        }
        print("Gaussian N(m, C) in the stationary Hermite basis, L1 at 15…60 modes: \(errors.map { String(format: "%.2e", $0) })")
        for (coarse, fine) in zip(errors, errors.dropFirst()) { XCTAssertLessThan(fine, coarse / 5, "\(errors)") }
        XCTAssertThrowsError(try hermite.gaussianState(mean: [0, 0], covariance: Matrix([[5, 0], [0, 0.1]])))
        XCTAssertThrowsError(try hermite.initialState(.uniform))
        XCTAssertThrowsError(try hermite.initialState(.delta(at: [0, 0])))
    }
}
