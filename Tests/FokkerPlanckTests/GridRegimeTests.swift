import XCTest
@testable import FokkerPlanck

/// Issue 9: the regimes where the grid solver used to return wrong answers with exit 0, and the
/// error estimate that now goes with every solve.
final class GridRegimeTests: XCTestCase {
    func ring(cells: Int, centre: Double) -> (Grid, LinearModel) {
        let grid = Grid(axes: [Axis(name: "x", lower: -1, upper: 1, cells: cells, boundary: .periodic)])
        return (grid, LinearModel(driftMatrix: Matrix([[1.0]]), diffusion: Matrix([[1.0]]), center: [centre]))
    }

    /// The seam face integrates the wrapped drift piece by piece: a symmetric ring has no current
    /// (it had J ≈ 0.49 h everywhere), a tilted one the exact constant current, at second order.
    func testPeriodicSeamHasNoFalseCurrent() throws {
        for n in [50, 51] {
            let (grid, model) = ring(cells: n, centre: 0)
            let solution = try StationarySolver().solve(FiniteVolumeScheme(grid: grid, model: model))
            let current = solution.discretization.currents(of: solution.state)[0]
            // Round-off: the fluxes are differences of O(1) terms, 1e-16 each.
            XCTAssertLessThan(current.map(abs).max()!, 1e-13, "n = \(n)")
        }
        var errors: [Double] = []
        for n in [50, 100, 200] {
            let (grid, model) = ring(cells: n, centre: 0.3)
            let solution = try StationarySolver().solve(FiniteVolumeScheme(grid: grid, model: model))
            let exact = try SeparableStationaryReference(model: model, grid: grid).ringCurrent(0)
            let current = solution.discretization.currents(of: solution.state)[0]
            errors.append(current.map { abs($0 - exact) }.max()! / abs(exact))
        }
        for (coarse, fine) in zip(errors, errors.dropFirst()) {
            XCTAssertEqual(log2(coarse / fine), 2, accuracy: 0.2, "current errors \(errors)")
        }
    }

    /// The separable reference against closed forms: J = 0 gives the box-normalised Gaussian.
    func testSeparableReferenceMatchesTheBoxGaussian() throws {
        let (grid, model) = ring(cells: 10, centre: 0)
        let reference = try SeparableStationaryReference(model: model, grid: grid)
        let z = (Double.pi / 2).squareRoot() * 2 * erf(1 / 2.0.squareRoot())
        for x in [-0.9, -0.2, 0.0, 0.7] {
            XCTAssertEqual(reference.density(at: [x]), exp(-x * x / 2) / z, accuracy: 1e-14)
        }
        XCTAssertEqual(reference.ringCurrent(0), 0, accuracy: 1e-15)
    }

    /// Low-friction Langevin at 16² (issue 9, item 4): the scheme no longer returns ⟨v²⟩ < 0, the
    /// grid is reported as under-resolved, and the true error is within twice the estimate.
    func testUnderResolvedLangevinIsFlagged() throws {
        let problem = try Problem(contentsOf: validationProblem("langevin-low-friction.toml"))
        guard case let .langevin(model) = problem.model else { return XCTFail("not langevin") }
        let solution = try problem.solver.solve(FiniteVolumeScheme(grid: problem.grid, model: model))
        let moments = FrameDiagnostics(density: solution.density, grid: problem.grid)
        XCTAssertGreaterThan(moments.covariance[3], 0, "⟨v²⟩ was −2.45 before issue 9")
        let (estimate, warnings) = ErrorEstimate.run(for: solution, solver: problem.solver)
        let exact = LangevinBoltzmann(model: model, box: problem.grid)
        let exactDensity = problem.grid.sample(exact.density(at:))
        let error = problem.grid.integrate(zip(solution.density, exactDensity).map { abs($0 - $1) })
        print("16² low-friction Langevin: L1 error \(error), estimate \(estimate?.density ?? .nan)")
        XCTAssertNotNil(estimate)
        XCTAssertLessThan(error, 2 * estimate!.density)
        XCTAssertTrue(warnings.contains { $0.contains("estimated relative L1 error") }, "\(warnings)")
    }

    /// Interpolation from the coarse grid is exact for cubics, on walls and across a seam.
    func testCoarseInterpolationIsExactForCubics() {
        for boundary in [BoundaryKind.reflecting, .periodic] {
            let fine = Grid(axes: [Axis(name: "x", lower: 0, upper: 2, cells: 12, boundary: boundary),
                                   Axis(name: "y", lower: -1, upper: 1, cells: 10, boundary: .reflecting)])
            let coarse = ErrorEstimate.coarseGrid(of: fine)!
            XCTAssertEqual(coarse.shape, [6, 5])
            // A cubic in y, and in x on walls (a cubic is not periodic: on the ring x is constant).
            let f: ([Double]) -> Double = { p in
                (boundary == .periodic ? 1 : 1 + p[0] - 0.3 * p[0] * p[0] * p[0]) * (2 + p[1] + p[1] * p[1] * p[1])
            }
            let interpolated = ErrorEstimate.interpolate(coarse.sample(f), from: coarse, to: fine)
            for (a, b) in zip(interpolated, fine.sample(f)) { XCTAssertEqual(a, b, accuracy: 1e-12) }
        }
    }

    /// The estimate tracks the true error once the grid resolves the density: within a factor 2
    /// on the high-Péclet rotation at 160² (measured 1.04e-3 true, 1.08e-3 estimated).
    func testEstimateTracksTheTrueError() throws {
        let problem = try Problem(contentsOf: validationProblem("rotation-high-peclet.toml"))
        let model = problem.model.linearModel!
        let solution = try problem.solver.solve(FiniteVolumeScheme(grid: problem.grid, model: model))
        let estimate = try XCTUnwrap(try problem.solver.estimateError(of: solution))
        let error = StationaryErrors(solution: solution, reference: try OrnsteinUhlenbeckReference(model)).density
        XCTAssertGreaterThan(estimate.density, error / 2)
        XCTAssertLessThan(estimate.density, error * 2)
    }
}

/// validation/problems/NAME in the checkout.
func validationProblem(_ name: String) -> String {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("validation/problems/\(name)").path
}
