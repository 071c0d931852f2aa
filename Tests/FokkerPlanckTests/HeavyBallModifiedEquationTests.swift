import XCTest
@testable import FokkerPlanck

/// The heavy ball's modified equation (`HeavyBallModifiedEquation`): its generator reproduces the
/// one-step map, its noise the discrete stationary θ̄ covariance, and with constant noise the
/// iterates' variance carries the exact discrete factor 2(1+β)/(2(1+β) − ηh).
final class HeavyBallModifiedEquationTests: XCTestCase {
    /// p = 2, H with eigenvalues 2 and 0.5 (ηh = 0.2 on the stiff one), Σ not commuting with H.
    func parameters(stateDependent: Bool) -> SGDMomentumParameters {
        var p = SGDMomentumParameters(hessian: Matrix([[1.65, 0.63], [0.63, 0.85]]), learningRate: 0.1, momentum: 0.9, batchSize: 32,
                                      gradientNoise: Matrix([[8.6, 3.4], [3.4, 2.6]]))
        p.stateDependentNoise = stateDependent
        p.modifiedEquation = true
        return p
    }

    func testGeneratorFlowIsTheStepMap() throws {
        let equation = try HeavyBallModifiedEquation(parameters(stateDependent: false))
        // exp(−η A) = M (LinearModel convention, drift −A z): 2p = 4, a scaling-and-squaring
        // exponential and a closed-form logarithm; 1e-12 is a few hundred ulps of entries ≈ 1.
        let flow = try ((-0.1) * equation.driftMatrix).exponential()
        XCTAssertLessThan((flow - equation.stepMap).maxAbs, 1e-12)
    }

    func testLogFactorIsContinuousThroughCriticalDamping() {
        // c = ψ/(√β sin ψ) with cos ψ = 1 − u: the series branch (|u| < 1e-6) and the acos
        // (u > 0) and acosh (u < 0) branches against the series 1 + u/3 + 2u²/15 (next term
        // O(u³) ≤ 1e-12 at u = 1e-4); across the switch the branches agree to round-off.
        let beta = 0.81, root = beta.squareRoot()
        for u in [0.99e-6, 1.01e-6, -0.99e-6, -1.01e-6, 1e-4, -1e-4] {
            let x = 1 + beta - 2 * root * (1 - u)
            let series = (1 + u / 3 + 2 * u * u / 15) / root
            XCTAssertEqual(HeavyBallModifiedEquation.logFactor(x: x, beta: beta), series, accuracy: 1e-11 * series, "u = \(u)")
        }
        // At x = 0 the roots are 1 and β: c = ln(1/β)/(1−β).
        XCTAssertEqual(HeavyBallModifiedEquation.logFactor(x: 0, beta: beta), Foundation.log(1 / beta) / (1 - beta), accuracy: 1e-13)
    }

    func testStationaryThetaCovarianceIsTheHeavyBallsForConstantNoise() throws {
        let equation = try HeavyBallModifiedEquation(parameters(stateDependent: false))
        let continuous = try SGDMomentumMoments(equation).covariance
        let discrete = try HeavyBallMoments(equation).covariance
        // By construction of L (θ̄ block, exact up to the Kronecker solves' round-off) …
        for i in 0..<2 { for j in 0..<2 { XCTAssertEqual(continuous[i, j], discrete[i, j], accuracy: 1e-12 * discrete[0, 0]) } }
        // … and the other blocks to the equation's O((ηh)²): measured 4.2e-3 of σ_i σ_j.
        var worst = 0.0
        for i in 0..<4 { for j in 0..<4 {
            worst = max(worst, abs(continuous[i, j] - discrete[i, j]) / (discrete[i, i] * discrete[j, j]).squareRoot())
        } }
        XCTAssertLessThan(worst, 6e-3)
    }

    func testStateDependentMomentsAgreeWithTheHeavyBall() throws {
        let equation = try HeavyBallModifiedEquation(parameters(stateDependent: true))
        let continuous = try SGDMomentumMoments(equation).covariance
        let discrete = try HeavyBallMoments(equation).covariance
        var worst = 0.0
        for i in 0..<4 { for j in 0..<4 {
            worst = max(worst, abs(continuous[i, j] - discrete[i, j]) / (discrete[i, i] * discrete[j, j]).squareRoot())
        } }
        // Measured 4.2e-3 (the outside check's simulation agrees with HeavyBallMoments).
        XCTAssertLessThan(worst, 6e-3)
        // Kunin's model with the same noise misses the velocity variance by ≈ ηh/(2(1+β)).
        let kunin = try SGDMomentumMoments(parameters(stateDependent: true)).covariance
        XCTAssertGreaterThan(abs(kunin[2, 2] / discrete[2, 2] - 1), 0.03)
    }

    func testIterateVarianceCarriesTheExactDiscreteFactor() throws {
        // p = 1, constant noise Σ = σ²h: Var θ_k = P · 2(1+β)/(2(1+β) − ηh) exactly for the heavy
        // ball (THEORY §3); the modified equation's θ̄ variance is exact and its Var v within 1e-3.
        for eta in [0.025, 0.1, 0.25] {
            var p = SGDMomentumParameters(hessian: Matrix([[2.0]]), learningRate: eta, momentum: 0.9, batchSize: 32,
                                          gradientNoise: Matrix([[2.0]]))
            p.modifiedEquation = true
            let equation = try HeavyBallModifiedEquation(p)
            let moments = try SGDMomentumMoments(equation)
            let iterate = HeavyBallMoments.iterateCovariance(moments.covariance, p: 1, eta: eta)[0, 0]
            let kuninP = eta * 1.0 / (2 * 32 * 0.1)
            let factor = 2 * 1.9 / (2 * 1.9 - eta * 2)
            XCTAssertEqual(iterate / kuninP, factor, accuracy: 1e-3 * factor, "η = \(eta)")
            XCTAssertEqual(try HeavyBallMoments(equation).iterateCovariance[0, 0] / kuninP, factor, accuracy: 1e-12)
        }
    }

    /// The grid's coefficients (expressions) against the definition, point by point: drift
    /// −A(z − c); D_v(z) = L(Σ̄(z)), Σ̄ the gradient covariance at the look-ahead point of the state
    /// the flow came from, averaged over the step — here by 16-point Gauss–Legendre and matrix
    /// exponentials, not through the quadratic forms. p = 2, weight decay and a minimum off 0 (so
    /// the fixed point μ_λ and the noise centre μ differ), an overdamped and an underdamped mode.
    func testStateDependentCoefficientsAreTheDefinition() throws {
        var parameters = SGDMomentumParameters(hessian: Matrix([[1.65, 0.63], [0.63, 0.85]]), learningRate: 0.1, momentum: 0.9, batchSize: 32,
                                               gradientNoise: Matrix([[8.6, 3.4], [3.4, 2.6]]), weightDecay: 0.3, minimum: [0.4, -0.2])
        parameters.stateDependentNoise = true
        parameters.modifiedEquation = true
        let equation = try HeavyBallModifiedEquation(parameters)
        let model = equation.stateDependentModel(names: ["a", "b", "c", "d"])
        let centre = equation.centre, eta = 0.1
        let rule = LegendreAxis.gaussLegendre(16)
        for z in [[0.3, -0.1, 0.5, -0.7], [-0.8, 0.6, -1.2, 0.9], centre] {
            let offset = zip(z, centre).map { $0 - $1 }
            let mu = model.drift(at: z)
            let expected = equation.driftMatrix * offset
            for k in 0..<4 { XCTAssertEqual(mu[k], -expected[k], accuracy: 1e-12) }
            var w = Matrix(rows: 2, columns: 2)
            for (node, weight) in zip(rule.nodes, rule.weights) {
                let back = try (((node + 1) / 2 * eta) * equation.driftMatrix).exponential() * offset
                let e = (0..<2).map { centre[$0] + back[$0] + eta / 2 * back[2 + $0] - parameters.minimum[$0] }
                for i in 0..<2 { for j in 0..<2 { w[i, j] += weight / 2 * e[i] * e[j] } }
            }
            let dv = equation.velocityDiffusion(forNoise: parameters.leastSquaresNoise.expected(secondMoment: w))
            for i in 0..<2 { for j in 0..<2 {
                // Sums of ~10 terms of size ≤ 10: a few ulps of the largest.
                XCTAssertEqual(model.diffusionEntry(2 + i, 2 + j, at: z), dv[i, j], accuracy: 1e-12 * max(1, dv.maxAbs), "z = \(z)")
            } }
            for i in 0..<4 { for j in 0..<2 { XCTAssertEqual(model.diffusionEntry(i, j, at: z), 0) } }
        }
    }

    func testDecodingRefusesWhatHasNoContinuousFlow() {
        func problem(_ extra: String) -> String {
            """
            [model]
            type = "sgd-momentum"
            hessian = [[2.0]]
            learning_rate = 0.1
            momentum = 0.9
            batch_size = 32
            noise_scale = 1.0
            \(extra)
            [grid]
            cells = [16, 16]
            """
        }
        XCTAssertNoThrow(try Problem(text: problem("modified_equation = true")))
        XCTAssertThrowsError(try Problem(text: problem("modified_equation = 1")))
        XCTAssertThrowsError(try Problem(text: problem("modified_equation = true\nlearning_rate = 2.0").replacingOccurrences(of: "learning_rate = 0.1\n", with: "")))
        // A specular wall would leak: the θ̄ drift is not odd in v.
        XCTAssertThrowsError(try Problem(text: problem("modified_equation = true") + "\nlower = [-1.0, -4.0]\nupper = [1.0, 4.0]\nboundary = [\"specular\", \"reflecting\"]"))
    }
}
