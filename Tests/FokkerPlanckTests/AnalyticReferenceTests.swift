import FokkerPlanck
import Foundation
import XCTest

/// The closed forms themselves (THEORY §1–2), checked against identities they must satisfy, and the
/// quadratic-SGD cases solved on grids.
final class AnalyticReferenceTests: XCTestCase {
    func testLyapunovSolutionSatisfiesItsEquation() throws {
        let a = Matrix([[1.0, 0.3], [-0.4, 2.0]])
        let d = Matrix([[0.5, 0.2], [0.2, 0.3]])
        let ou = try OrnsteinUhlenbeckReference(driftMatrix: a, diffusion: d)
        let s = ou.covariance
        // A S + S Aᵀ = 2D to round-off × the condition of the 4×4 Kronecker system.
        XCTAssertLessThan((a * s + s * a.transposed - 2 * d).maxAbs, 1e-14)
        // Q = AS − D is antisymmetric.
        XCTAssertLessThan((ou.circulation + ou.circulation.transposed).maxAbs, 1e-14)
        // j = −Q S⁻¹ z is divergence-free (trace of the constant Jacobian) and orthogonal to ∇Φ ∝ S⁻¹z.
        let jacobian = ou.velocityMatrix
        XCTAssertEqual(jacobian[0, 0] + jacobian[1, 1], 0, accuracy: 1e-14)
        let z = [0.7, -1.3]
        let grad = ou.precision * z
        let j = ou.velocity(at: z)
        XCTAssertEqual(zip(j, grad).reduce(0) { $0 + $1.0 * $1.1 }, 0, accuracy: 1e-14)
        // Reference values from scipy.linalg.solve_continuous_lyapunov(A, 2D).
        XCTAssertEqual(s[0, 0], 0.44764151, accuracy: 1e-8)
        XCTAssertEqual(s[0, 1], 0.1745283, accuracy: 1e-7)
        XCTAssertEqual(s[1, 1], 0.18490566, accuracy: 1e-8)
    }

    func testUnstableDriftHasNoReference() {
        XCTAssertThrowsError(try OrnsteinUhlenbeckReference(driftMatrix: Matrix([[-1.0]]), diffusion: Matrix([[1.0]])))
    }

    /// THEORY §2: with F and D commuting the leftover field vanishes identically, yet Φ ≠ f.
    func testQuadraticSGDCommutingDiffusionHasNoCurrent() throws {
        let f = Matrix([[2.0, 0.5], [0.5, 1.0]])
        // D = F² + I commutes with F and is anisotropic.
        let d = f * f + Matrix.identity(2)
        let sgd = try QuadraticSGDReference(hessian: f, diffusion: d, learningRate: 0.1, batchSize: 4)
        XCTAssertLessThan(sgd.commutator, 1e-15)
        XCTAssertLessThan(sgd.velocityMatrix.maxAbs, 1e-13)
        // Φ ≠ f: S₀⁻¹ ≠ F since D ≠ I.
        XCTAssertGreaterThan((sgd.s0Inverse - f).maxAbs, 0.1)

        // With the equilibrium-split fluxes (issue 9) the Gaussian is the scheme's exact null vector:
        // the current is round-off at every resolution (it decayed at second order before).
        let model = sgd.model
        let cov = sgd.covariance
        let half = (0..<2).map { 6.5 * cov[$0, $0].squareRoot() }
        var currents: [Double] = [], spacings: [Double] = []
        for n in [40, 80, 160] {
            let grid = makeGrid(lower: half.map { -$0 }, upper: half, cells: [n, n])
            let solution = try StationarySolver().solve(FiniteVolumeScheme(grid: grid, model: model))
            let j = solution.discretization.currents(of: solution.state)
            currents.append(grid.integrate(zip(j[0], j[1]).map { abs($0) + abs($1) }))
            spacings.append(grid.spacing.max()!)
        }
        print("commuting SGD: ∫|J| \(currents)")
        // Round-off: O(1) fluxes cancelling, 1e-16 each, summed over up to 160² cells (measured ≤ 2.1e-15).
        for current in currents { XCTAssertLessThan(current, 1e-12) }
    }

    /// THEORY §2: a D that does not commute with F gives j = (D S₀⁻¹ − F) x ≠ 0; the grid current
    /// converges to it.
    func testQuadraticSGDNonCommutingCurrentConverges() throws {
        let f = Matrix([[2.0, 0.0], [0.0, 1.0]])
        let d = Matrix([[1.0, 0.4], [0.4, 0.5]])
        let sgd = try QuadraticSGDReference(hessian: f, diffusion: d, learningRate: 0.2, batchSize: 2)
        XCTAssertGreaterThan(sgd.commutator, 0.1)
        XCTAssertGreaterThan(sgd.velocityMatrix.maxAbs, 0.05)
        let ou = try OrnsteinUhlenbeckReference(sgd.model)
        // The OU closed form and the SGD one describe the same process.
        XCTAssertLessThan((ou.covariance - sgd.covariance).maxAbs, 1e-14)
        XCTAssertLessThan((ou.velocityMatrix - sgd.velocityMatrix).maxAbs, 1e-13)
        let half = (0..<2).map { 6.5 * sgd.covariance[$0, $0].squareRoot() }
        let study = try convergenceStudy("SGD non-commuting", model: sgd.model, lower: half.map { -$0 }, upper: half,
                                         cells: [[48, 48], [96, 96], [192, 192]])
        for order in observedOrders(errors: study.errors.map(\.current), spacings: study.spacings) {
            XCTAssertGreaterThanOrEqual(order, 1.8)
        }
    }
}
