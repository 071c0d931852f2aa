import FokkerPlanck
import Foundation
import XCTest

/// Errors of a computed stationary state against an OU closed form, in the norms the tests use.
struct StationaryErrors {
    /// Σ |ρ − ρ_exact(x_c)| V.
    var density: Double
    /// Σ_k Σ |J_k − J_exact,k(x_c)| V.
    var current: Double
    /// Σ ρ_exact |Φ − Φ_exact − m| V, m the ρ_exact-weighted mean of Φ − Φ_exact (Φ is defined up to
    /// a constant; the weight confines the error to the bulk of the mass).
    var potential: Double
}

func stationaryErrors(_ solution: StationarySolution, reference: OrnsteinUhlenbeckReference) -> StationaryErrors {
    let grid = solution.grid
    let fields = DerivedFields(density: solution.density, scheme: solution.scheme, temperature: reference.temperature)
    let volume = grid.cellVolume
    var density = 0.0, current = 0.0
    var weights = [Double](repeating: 0, count: grid.cellCount)
    var differences = [Double](repeating: 0, count: grid.cellCount)
    for c in 0..<grid.cellCount where fields.potential[c].isFinite {
        // Cells where the computed ρ ≤ 0 (far tails, where cross-diffusion round-off can dip below
        // zero) have no potential; their weight ρ_exact is negligible.
        let x = grid.centre(c)
        let rho = reference.density(at: x)
        density += abs(solution.density[c] - rho) * volume
        let j = reference.current(at: x)
        for k in 0..<grid.dimension { current += abs(fields.current[k][c] - j[k]) * volume }
        weights[c] = rho * volume
        differences[c] = fields.potential[c] - reference.potential(at: x)
    }
    let totalWeight = weights.reduce(0, +)
    let mean = zip(weights, differences).reduce(0) { $0 + $1.0 * $1.1 } / totalWeight
    let potential = zip(weights, differences).reduce(0) { $0 + $1.0 * abs($1.1 - mean) }
    return StationaryErrors(density: density, current: current, potential: potential)
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
