import Foundation

/// Errors of a computed stationary state against an Ornstein–Uhlenbeck closed form.
public struct StationaryErrors: Sendable, Equatable {
    /// Σ_c |ρ_c − ρ_exact(x_c)| V.
    public var density: Double
    /// Σ_k Σ_c |J_k,c − J_exact,k(x_c)| V.
    public var current: Double
    /// Σ_c ρ_exact |Φ_c − Φ_exact(x_c) − m| V with m the ρ_exact-weighted mean of Φ − Φ_exact: Φ is
    /// defined up to a constant, and the weight confines the error to the bulk of the mass. Cells
    /// where the computed ρ ≤ 0 (far tails) have no Φ and are left out; their weight is negligible.
    public var potential: Double

    public init(solution: StationarySolution, reference: OrnsteinUhlenbeckReference) {
        self.init(solution: solution, temperature: reference.temperature, density: reference.density(at:),
                  current: reference.current(at:), potential: reference.potential(at:))
    }

    /// Errors against any closed form, given as functions of position: the density, the current
    /// (one value per axis) and the potential (up to a constant).
    public init(solution: StationarySolution, temperature: Double, density exactDensity: ([Double]) -> Double,
                current exactCurrent: ([Double]) -> [Double], potential exactPotential: ([Double]) -> Double) {
        let grid = solution.grid
        let fields = DerivedFields(state: solution.state, density: solution.density, discretization: solution.discretization, temperature: temperature)
        let volume = grid.cellVolume
        var density = 0.0, current = 0.0, weightSum = 0.0, weightedDifference = 0.0
        var weights = [Double](repeating: 0, count: grid.cellCount)
        var differences = [Double](repeating: .nan, count: grid.cellCount)
        var x = [Double](repeating: 0, count: grid.dimension)
        for c in 0..<grid.cellCount {
            grid.centre(c, into: &x)
            let rho = exactDensity(x)
            density += abs(solution.density[c] - rho) * volume
            let j = exactCurrent(x)
            for k in 0..<grid.dimension { current += abs(fields.current[k][c] - j[k]) * volume }
            guard fields.potential[c].isFinite else { continue }
            weights[c] = rho * volume
            differences[c] = fields.potential[c] - exactPotential(x)
            weightSum += weights[c]
            weightedDifference += weights[c] * differences[c]
        }
        let mean = weightedDifference / weightSum
        var potential = 0.0
        for c in 0..<grid.cellCount where differences[c].isFinite { potential += weights[c] * abs(differences[c] - mean) }
        self.density = density
        self.current = current
        self.potential = potential
    }
}
