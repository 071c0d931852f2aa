import FokkerPlanck
import Foundation
import XCTest

func stationaryErrors(_ solution: StationarySolution, reference: OrnsteinUhlenbeckReference) -> StationaryErrors {
    StationaryErrors(solution: solution, reference: reference)
}

func makeGrid(lower: [Double], upper: [Double], cells: [Int], boundary: BoundaryKind = .reflecting) -> Grid {
    Grid(axes: (0..<lower.count).map {
        Axis(name: "x\($0)", lower: lower[$0], upper: upper[$0], cells: cells[$0], boundary: boundary)
    })
}

/// Solves the stationary OU problem on each grid and returns the L1 errors and spacings (largest
/// spacing of each grid), printing them with the observed orders.
func convergenceStudy(_ name: String, model: LinearModel, lower: [Double], upper: [Double],
                      cells: [[Int]], boundary: BoundaryKind = .reflecting,
                      file: StaticString = #filePath, line: UInt = #line) throws
    -> (errors: [StationaryErrors], spacings: [Double], solutions: [StationarySolution]) {
    let reference = try OrnsteinUhlenbeckReference(model)
    var errors: [StationaryErrors] = [], spacings: [Double] = [], solutions: [StationarySolution] = []
    for n in cells {
        let grid = makeGrid(lower: lower, upper: upper, cells: n, boundary: boundary)
        let solution = try StationarySolver().solve(FiniteVolumeScheme(grid: grid, model: model))
        // Mass: fixed by the normalisation row; the rest is round-off over ≤ 1e6 cells.
        XCTAssertEqual(solution.mass, 1, accuracy: 1e-12, file: file, line: line)
        XCTAssertLessThan(solution.residual, 1e-12, file: file, line: line)
        errors.append(stationaryErrors(solution, reference: reference))
        spacings.append(grid.spacing.max()!)
        solutions.append(solution)
        print("\(name) cells \(n): residual \(solution.residual), min ρ \(solution.minimumDensity), "
              + "factorization \(solution.factorization.lowerNonzeros + solution.factorization.upperNonzeros) nnz(L+U), "
              + String(format: "%.2f s", solution.solveSeconds))
    }
    if cells.count > 1 {
        for (field, values) in [("density", errors.map(\.density)), ("current", errors.map(\.current)),
                                ("potential", errors.map(\.potential))] {
            print("\(name) \(field) L1 errors \(values), observed orders \(observedOrders(errors: values, spacings: spacings))")
        }
    }
    return (errors, spacings, solutions)
}

/// Solves a spectral discretization and asserts that its error estimate is the expansion's tail
/// and brackets the true relative L1 error against `exact` (at the output cells): above it, and
/// below 10× it — the tail overstates by the geometric ratio of a few degrees, and 10× bounds what
/// was measured (Hermite 1.9–2.2×, Legendre 2.3–4.1×).
func assertTailEstimateBracketsTruth(_ discretization: any Discretization, exact: [Double], _ label: String,
                                     file: StaticString = #filePath, line: UInt = #line) throws {
    let grid = discretization.grid
    let solver = StationarySolver()
    let solution = try solver.solve(discretization)
    let estimate = try XCTUnwrap(try solver.estimateError(of: solution), label, file: file, line: line)
    let truth = grid.integrate(zip(solution.density, exact).map { abs($0 - $1) }) / grid.integrate(solution.density.map(abs))
    XCTAssertGreaterThan(estimate.density, truth, label, file: file, line: line)
    XCTAssertLessThan(estimate.density, 10 * truth, label, file: file, line: line)
    XCTAssertTrue(estimate.comparison.hasPrefix("tail of the expansion"), label, file: file, line: line)
}
