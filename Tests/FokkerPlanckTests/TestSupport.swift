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
