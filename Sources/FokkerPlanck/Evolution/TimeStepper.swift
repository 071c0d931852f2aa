import Foundation

/// Implicit time stepping of dρ/dt = L ρ on the assembled finite-volume generator.
///
/// * implicit Euler (order 1): (I − Δt L) ρⁿ⁺¹ = ρⁿ;
/// * Crank–Nicolson (order 2): (I − ½Δt L) ρⁿ⁺¹ = (I + ½Δt L) ρⁿ;
/// * BDF2 (order 2, L-stable): (I − ⅔Δt L) ρⁿ⁺¹ = 4/3 ρⁿ − 1/3 ρⁿ⁻¹, started by one implicit
///   Euler step (local error O(Δt²), so the global error stays O(Δt²)) — for stiff starts such as a
///   narrow initial peak, where Crank–Nicolson rings.
///
/// Each matrix I − cΔt L is analysed and factored once (UMFPACK) and reused for every step. Since
/// 1ᵀL = 0, 1ᵀ(I − cΔt L) = 1ᵀ: every scheme conserves mass exactly up to the round-off of the solve.
public struct TimeStepper {
    public let scheme: EvolveSettings.Scheme
    public let dt: Double
    let generator: SparseMatrix
    private let main: SparseLU
    private let starter: SparseLU?
    private var previous: [Double]?
    public private(set) var steps = 0

    public init(generator: SparseMatrix, scheme: EvolveSettings.Scheme, dt: Double, dimension: Int,
                ordering: SparseOrdering = .automatic) throws {
        self.scheme = scheme
        self.dt = dt
        self.generator = generator
        let coefficient: Double
        switch scheme {
        case .implicitEuler: coefficient = 1
        case .crankNicolson: coefficient = 0.5
        case .bdf2: coefficient = 2.0 / 3.0
        case .spectral:
            throw FokkerPlanckError.badInput(file: nil, keyPath: "evolve.scheme", line: nil,
                                             message: "the spectral scheme is not implemented yet; use crank-nicolson, bdf2 or implicit-euler")
        }
        let matrix = generator.shifted(identity: 1, plus: -coefficient * dt)
        let analysis = try SparseLUAnalysis(pattern: matrix, ordering: ordering.resolved(dimension: dimension))
        main = try analysis.factor(matrix)
        if scheme == .bdf2 {
            // Same pattern: the symbolic analysis is reused.
            starter = try analysis.factor(generator.shifted(identity: 1, plus: -dt))
        } else {
            starter = nil
        }
    }

    /// Factorization statistics of the main step matrix.
    public var statistics: FactorizationStatistics { main.statistics }

    /// Advances ρ by one step.
    public mutating func step(_ rho: [Double]) throws -> [Double] {
        defer { steps += 1 }
        switch scheme {
        case .implicitEuler:
            return try main.solve(rho, refine: false)
        case .crankNicolson:
            let l = generator.multiply(rho)
            var rhs = rho
            for i in rhs.indices { rhs[i] += 0.5 * dt * l[i] }
            return try main.solve(rhs, refine: false)
        case .bdf2:
            guard let before = previous else {
                previous = rho
                return try starter!.solve(rho, refine: false)
            }
            var rhs = rho
            for i in rhs.indices { rhs[i] = (4 * rho[i] - before[i]) / 3 }
            previous = rho
            return try main.solve(rhs, refine: false)
        case .spectral:
            fatalError("unreachable: refused in init")
        }
    }
}
