import FokkerPlanck
import Foundation
import XCTest

/// The stationary OU solve against its closed form (THEORY §1).
final class OrnsteinUhlenbeckStationaryTests: XCTestCase {
    /// Non-symmetric A, non-diagonal D that does not commute with A: a stationary state with a
    /// genuine rotating current.
    let anisotropic = LinearModel(driftMatrix: Matrix([[1.0, 0.3], [-0.4, 2.0]]),
                                  diffusion: Matrix([[0.5, 0.2], [0.2, 0.3]]))

    func testAnisotropic2DConvergesAtSecondOrder() throws {
        let reference = try OrnsteinUhlenbeckReference(anisotropic)
        // The model is genuinely non-equilibrium: D does not commute with A and Q ≠ 0.
        XCTAssertGreaterThan((anisotropic.driftMatrix * anisotropic.diffusionMatrix
            - anisotropic.diffusionMatrix * anisotropic.driftMatrix).maxAbs, 0.1)
        XCTAssertGreaterThan(reference.circulation.maxAbs, 0.01)
        let cells = [64, 128, 256]
        var errors: [StationaryErrors] = []
        var spacings: [Double] = []
        for n in cells {
            // Standard deviations are 0.67 and 0.43 (smallest principal one 0.31): the box is ≥ 6.7σ
            // along each axis, so the truncated tail mass (~1e-10) is far below the discretization
            // error at these resolutions.
            let grid = makeGrid(lower: [-4.5, -3], upper: [4.5, 3], cells: [n, n])
            let solution = try StationarySolver().solve(FiniteVolumeScheme(grid: grid, model: anisotropic))
            // Mass: the normalisation row fixes Σ ρ V = 1; what is left is round-off of the solve,
            // n² terms of size ~1e-16 each.
            XCTAssertEqual(solution.mass, 1, accuracy: 1e-12)
            // Residual of a backward-stable sparse LU: round-off × growth.
            XCTAssertLessThan(solution.residual, 1e-12)
            // Discrete divergence of the stationary face fluxes, relative to the flux magnitudes.
            let (divergence, scale) = (solution.discretization as! FiniteVolumeScheme).fluxDivergence(solution.density)
            XCTAssertLessThan(divergence.map(abs).max()! / scale, 1e-10)
            errors.append(stationaryErrors(solution, reference: reference))
            print("OU 2-d n=\(n): min ρ \(solution.minimumDensity), residual \(solution.residual)")
            spacings.append(grid.axes[0].spacing)
        }
        for (name, values) in [("density", errors.map(\.density)), ("current", errors.map(\.current)),
                               ("potential", errors.map(\.potential))] {
            let orders = observedOrders(errors: values, spacings: spacings)
            print("OU 2-d \(name) L1 errors \(values), observed orders \(orders)")
            // Second-order scheme: pairwise observed order ≥ 1.8 (the bar, 2 − 0.2).
            for order in orders { XCTAssertGreaterThanOrEqual(order, 1.8, "\(name) order") }
        }
    }
}
