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
///
/// Where no LU fits (4-d phase space), `StepSolver.iterative` solves each step by GMRES,
/// preconditioned by the exact inverse of I − cΔt (L₁ ⊕ L₂) (`SeparableDecomposition`; the
/// identity makes the shifted separable operator nearly L's, so a few iterations suffice), from
/// the previous density, to a relative residual of 1e-12 — so that the mass, conserved only up to
/// the solve's accuracy, drifts by ~1e-12 per step, far inside the evolution's 1e-9 check.
public struct TimeStepper {
    /// How the step systems are solved.
    public enum StepSolver {
        case direct
        case iterative(SeparableDecomposition)
    }

    /// One step matrix I − cΔt L with its solver.
    enum System {
        case lu(SparseLU)
        case krylov(matrix: SparseMatrix, preconditioner: SeparablePreconditioner)

        func solve(_ b: [Double], guess: [Double], iterations: inout Int) throws -> [Double] {
            switch self {
            case let .lu(lu):
                return try lu.solve(b, refine: false)
            case let .krylov(matrix, preconditioner):
                let (x, stats) = TimeStepper.stepGMRES.solve(matrix, b, initialGuess: guess, preconditioner: preconditioner)
                iterations += stats.iterations
                guard stats.converged else {
                    throw FokkerPlanckError.solverFailed(String(format: "GMRES did not converge in a time step (relative residual %.1e after %d iterations); try a smaller dt", stats.relativeResidual, stats.iterations))
                }
                return x
            }
        }
    }

    /// GMRES for the step systems: warm-started and nearly preconditioned exactly, so a small basis does.
    static let stepGMRES = GMRES(restart: 50, tolerance: 1e-12, maxIterations: 500)

    public let scheme: EvolveSettings.Scheme
    public let dt: Double
    let generator: SparseMatrix
    private let main: System
    private let starter: System?
    private var previous: [Double]?
    public private(set) var steps = 0
    /// GMRES iterations over all steps (iterative solver only).
    public private(set) var krylovIterations = 0
    private let mainStatistics: FactorizationStatistics

    public init(generator: SparseMatrix, scheme: EvolveSettings.Scheme, dt: Double, dimension: Int,
                ordering: SparseOrdering = .automatic, solver: StepSolver = .direct) throws {
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
        switch solver {
        case .direct:
            let analysis = try SparseLUAnalysis(pattern: matrix, ordering: ordering.resolved(dimension: dimension))
            let lu = try analysis.factor(matrix)
            main = .lu(lu)
            mainStatistics = lu.statistics
            // Same pattern: the symbolic analysis is reused.
            starter = scheme == .bdf2 ? .lu(try analysis.factor(generator.shifted(identity: 1, plus: -dt))) : nil
        case let .iterative(decomposition):
            main = .krylov(matrix: matrix, preconditioner: try decomposition.preconditioner(identity: 1, generator: -coefficient * dt))
            starter = scheme == .bdf2
                ? .krylov(matrix: generator.shifted(identity: 1, plus: -dt),
                          preconditioner: try decomposition.preconditioner(identity: 1, generator: -dt))
                : nil
            mainStatistics = .krylov(matrix: matrix, decomposition: decomposition, restart: Self.stepGMRES.restart)
        }
    }

    /// Factorization statistics of the main step matrix (for GMRES: size, non-zeros, memory).
    public var statistics: FactorizationStatistics { mainStatistics }

    /// Advances ρ by one step.
    public mutating func step(_ rho: [Double]) throws -> [Double] {
        defer { steps += 1 }
        switch scheme {
        case .implicitEuler:
            return try main.solve(rho, guess: rho, iterations: &krylovIterations)
        case .crankNicolson:
            let l = generator.multiply(rho)
            var rhs = rho
            for i in rhs.indices { rhs[i] += 0.5 * dt * l[i] }
            return try main.solve(rhs, guess: rho, iterations: &krylovIterations)
        case .bdf2:
            guard let before = previous else {
                previous = rho
                return try starter!.solve(rho, guess: rho, iterations: &krylovIterations)
            }
            var rhs = rho
            for i in rhs.indices { rhs[i] = (4 * rho[i] - before[i]) / 3 }
            previous = rho
            return try main.solve(rhs, guess: rho, iterations: &krylovIterations)
        case .spectral:
            fatalError("unreachable: refused in init")
        }
    }
}
