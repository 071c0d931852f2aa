import FokkerPlanck
import Foundation
import XCTest

/// Initial conditions, and absorbing walls in time (where mass legitimately leaves).
final class InitialAndBoundaryEvolutionTests: XCTestCase {
    func testInitialConditionsAreNormalisedAndWhereAsked() throws {
        let grid = makeGrid(lower: [-3, -2], upper: [3, 2], cells: [60, 40])
        for initial in [EvolveSettings.InitialCondition.uniform, .delta(at: [0.5, -0.3]),
                        .gaussian(mean: [0.5, -0.3], covariance: Matrix([[0.2, 0.05], [0.05, 0.1]]))] {
            let (density, start) = try initial.density(on: grid)
            XCTAssertEqual(start, 0)
            // Compensated sums: the normalisation is exact to a few ulps.
            XCTAssertEqual(grid.integrate(density), 1, accuracy: 1e-14)
            XCTAssertTrue(density.allSatisfy { $0 >= 0 })
            let moments = FrameDiagnostics(density: density, grid: grid)
            switch initial {
            case .uniform:
                XCTAssertEqual(moments.mean[0], 0, accuracy: 1e-14)
            case .delta:
                // σ = 2h per axis (h = 0.1): the mean is the point (the grid is symmetric about it to
                // within the truncated tails, 2.5σ to the nearest wall: ~1e-3 relative), the variance (2h)².
                XCTAssertEqual(moments.mean[0], 0.5, accuracy: 1e-3)
                XCTAssertEqual(moments.covariance[0], 0.04, accuracy: 1e-3)
            default:
                // Midpoint sampling of a Gaussian resolved by ≥ 3 cells per σ: moments to ~1e-6.
                XCTAssertEqual(moments.mean[1], -0.3, accuracy: 1e-6)
                XCTAssertEqual(moments.covariance[1], 0.05, accuracy: 1e-6)
            }
        }
        XCTAssertThrowsError(try EvolveSettings.InitialCondition.delta(at: [50, 0]).density(on: grid))
    }

    /// Pure diffusion on [0, 1] with absorbing walls from ρ₀ = (π/2) sin(πx): the first Fourier mode
    /// is exact, ρ = ρ₀ e^{−π² D t}, so the mass decays as e^{−π² D t}. The ghost treatment of the
    /// walls (ρ = 0 on the wall, half-cell flux) must reproduce it at second order.
    func testAbsorbingWallsLoseMassAtTheExactRate() throws {
        let d = 0.5, t = 0.2
        let model = LinearModel(driftMatrix: Matrix([[0]]), diffusion: Matrix([[d]]))
        var errors: [Double] = [], spacings: [Double] = []
        for cells in [20, 40, 80] {
            let grid = makeGrid(lower: [0], upper: [1], cells: [cells], boundary: .absorbing)
            let initial = grid.sample { 0.5 * Double.pi * sin(Double.pi * $0[0]) }
            // Δt small enough (Crank–Nicolson, error ~ (π²D Δt)² / 12 ≈ 1e-9) that space dominates.
            let settings = EvolveSettings(tEnd: t, dt: 1e-4, scheme: .crankNicolson, frames: 2, initial: nil)
            let recorder = FrameCollector()
            _ = try Evolution(scheme: FiniteVolumeScheme(grid: grid, model: model), settings: settings)
                .run(initial: initial, observers: [recorder])
            let exact = exp(-Double.pi * Double.pi * d * t) * grid.integrate(initial)
            errors.append(abs(recorder.diagnostics.last!.mass - exact))
            spacings.append(grid.axes[0].spacing)
        }
        let orders = observedOrders(errors: errors, spacings: spacings)
        print("absorbing walls: mass errors \(errors), orders \(orders)")
        for order in orders { XCTAssertGreaterThanOrEqual(order, 1.8) }
    }
}
