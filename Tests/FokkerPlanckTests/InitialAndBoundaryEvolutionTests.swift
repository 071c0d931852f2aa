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
            _ = try Evolution(discretization: FiniteVolumeScheme(grid: grid, model: model), settings: settings)
                .run(initial: initial, observers: [recorder])
            let exact = exp(-Double.pi * Double.pi * d * t) * grid.integrate(initial)
            errors.append(abs(recorder.diagnostics.last!.mass - exact))
            spacings.append(grid.axes[0].spacing)
        }
        let orders = observedOrders(errors: errors, spacings: spacings)
        print("absorbing walls: mass errors \(errors), orders \(orders)")
        for order in orders { XCTAssertGreaterThanOrEqual(order, 1.8) }
    }

    /// A Gaussian near the seam of a periodic axis is wrapped: the mass beyond the seam reappears
    /// on the other side, so the density is the same as the centred one rotated along the axis.
    func testGaussianIsWrappedOnPeriodicAxes() throws {
        let grid = makeGrid(lower: [0], upper: [1], cells: [100], boundary: .periodic)
        let sigma2 = 0.01  // σ = 0.1 = L/10: the images beyond ±L weigh e^{−50}, nothing
        let (nearSeam, _) = try EvolveSettings.InitialCondition.gaussian(mean: [0.02], covariance: Matrix([[sigma2]])).density(on: grid)
        let (centred, _) = try EvolveSettings.InitialCondition.gaussian(mean: [0.52], covariance: Matrix([[sigma2]])).density(on: grid)
        // Cell i near the seam equals cell i + 50 of the centred one (a shift by L/2 = 50 cells).
        let worst = (0..<100).map { abs(nearSeam[$0] - centred[($0 + 50) % 100]) }.max()!
        XCTAssertLessThan(worst, 1e-12 * centred.max()!)  // the same samples, summed in another order
        // Without wrapping the cells just below the seam (x ≈ 0.99, 0.07 from the mean) would be
        // e^{−24.5} small; wrapped they carry e^{−0.245} of the peak.
        XCTAssertGreaterThan(nearSeam[99], 0.5 * nearSeam.max()!)
    }

    /// Continuing an absorbing run from its own output keeps the mass that is left (it used to be
    /// renormalised to 1): the continued run ends where the straight one does.
    func testContinuingAnAbsorbingRunKeepsItsMass() throws {
        let grid = makeGrid(lower: [-2], upper: [2], cells: [80], boundary: .absorbing)
        let model = LinearModel(driftMatrix: Matrix([[1]]), diffusion: Matrix([[0.5]]))
        let scheme = FiniteVolumeScheme(grid: grid, model: model)
        let initial = try EvolveSettings.InitialCondition.gaussian(mean: [0.5], covariance: Matrix([[0.1]])).density(on: grid).density
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("absorbing-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let problem = try Problem(text: """
            [grid]
            lower = [-2.0]
            upper = [2.0]
            cells = [80]
            boundary = ["absorbing"]
            [model]
            type = "linear"
            drift_matrix = [[1.0]]
            diffusion = [[0.5]]
            """)
        func run(from density: [Double], tEnd: Double, to name: String?) throws -> FrameCollector {
            let settings = EvolveSettings(tEnd: tEnd, dt: 0.01, scheme: .crankNicolson, frames: 2, initial: nil)
            let collector = FrameCollector()
            var observers: [any EvolutionObserver] = [collector]
            var writer: EvolutionWriter?
            if let name {
                let target = try OutputTarget(checking: directory.appendingPathComponent(name).path, keyPath: "path", inputs: [],
                                              force: false, estimatedBytes: 0)
                writer = try EvolutionWriter(problem: problem, discretization: scheme, target: target)
                observers.append(writer!)
            }
            let summary = try Evolution(discretization: scheme, settings: settings).run(initial: density, observers: observers)
            try writer?.finish(summary)
            return collector
        }
        let straight = try run(from: initial, tEnd: 2, to: nil)
        let firstHalf = try run(from: initial, tEnd: 1, to: "first.h5")
        let left = firstHalf.diagnostics.last!.mass
        XCTAssertLessThan(left, 0.99)  // mass has left through the walls (2.7 % by t = 1 here)
        let (continued, start) = try EvolveSettings.InitialCondition.file(path: directory.appendingPathComponent("first.h5").path)
            .density(on: grid)
        XCTAssertEqual(start, 1, accuracy: 1e-14)
        XCTAssertEqual(grid.integrate(continued), left, accuracy: 1e-14)  // kept, not renormalised
        let secondHalf = try run(from: continued, tEnd: 1, to: nil)
        // The same steps on the same data (Crank–Nicolson restarts exactly), up to round-off.
        XCTAssertEqual(secondHalf.diagnostics.last!.mass, straight.diagnostics.last!.mass, accuracy: 1e-12)
    }
}
