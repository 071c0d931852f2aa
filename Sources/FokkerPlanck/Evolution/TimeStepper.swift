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
/// The step systems are prepared by `StationarySolver.prepare`, so every `[solve]` option (method,
/// ordering, GMRES restart and iteration cap) applies to them as to the stationary solve. Where no
/// LU fits (4-d phase space) each step is solved by GMRES, preconditioned by the exact inverse of
/// I − cΔt (L₁ ⊕ L₂) (`SeparableDecomposition`; the identity makes the shifted separable operator
/// nearly L's, so a few iterations suffice), from the previous density, to a relative residual of
/// at most 1e-12 — so that the mass, conserved only up to the solve's accuracy, drifts by ~1e-12
/// per step, far inside the evolution's 1e-9 check.
public struct TimeStepper {
    /// The `ordering` of the statistics when exp(τL) is applied as a tensor product (the run's
    /// summary line; the output's `solver` attribute takes `integratorDescription`).
    public static let tensorExponentialOrdering = "none (exp(τL) as a tensor product of 1-d exponentials)"

    /// The step systems' relative residual is at most this, whatever `[solve] tolerance` says.
    static let stepTolerance = 1e-12

    public let scheme: EvolveSettings.Scheme
    public let dt: Double
    let generator: SparseMatrix
    /// A Galerkin method's mass matrix M (M dc/dt = L c); nil for the identity.
    let mass: SparseMatrix?
    private let main: (any LinearSystem)?
    private let starter: (any LinearSystem)?
    /// The exponential scheme's exp(Δt L) (no linear system): exactly as a tensor product of 1-d
    /// exponentials when L is a Kronecker sum on the grid, else Krylov with error control.
    private let exponential: KrylovExponential?
    private let kronecker: KroneckerExponential?
    /// With a mass matrix: exp(Δt M⁻¹L) by shift-and-invert Krylov (one LU of M − γL).
    private let rational: RationalKrylovExponential?
    /// The conserved functional ℓ·c (row 0 of M) when row 0 of L is zero (a Galerkin test
    /// function 1): exp(τM⁻¹L) keeps it exactly, the Krylov approximation only to its tolerance,
    /// so the step's result is rescaled to keep it (which leaves means and covariances alone).
    private let conserved: [(column: Int, value: Double)]?
    private var previous: [Double]?
    public private(set) var steps = 0

    /// - Parameters:
    ///   - solver: the `[solve]` settings (method, ordering, GMRES settings).
    ///   - preconditioning: the generator's preconditioner provider, needed by the iterative method.
    ///   - cellShape: the grid shape when the unknowns are its cells (finite volumes), which lets
    ///     the exponential scheme look for a Kronecker-sum generator; nil for a spectral state.
    ///   - mass: a Galerkin method's mass matrix M: every I above becomes M (the step systems
    ///     M − cΔt L, the right-hand sides M ρⁿ), and the exponential scheme applies exp(Δt M⁻¹L).
    ///     Mass is still conserved exactly when a row of L vanishes (the test function 1), since
    ///     that row of M − cΔt L is then M's and the step keeps its ∫ρ.
    public init(generator: SparseMatrix, scheme: EvolveSettings.Scheme, dt: Double, dimension: Int,
                solver: StationarySolver = StationarySolver(), preconditioning: (any ShiftedPreconditioning)? = nil,
                cellShape: [Int]? = nil, mass: SparseMatrix? = nil) throws {
        self.scheme = scheme
        self.dt = dt
        self.generator = generator
        self.mass = mass
        let coefficient: Double
        switch scheme {
        case .implicitEuler: coefficient = 1
        case .crankNicolson: coefficient = 0.5
        case .bdf2: coefficient = 2.0 / 3.0
        case .exponential:
            rational = try mass.map { try RationalKrylovExponential(generator: generator, mass: $0, time: dt) }
            conserved = mass.flatMap { m in
                let rowZero = (0..<generator.columns).allSatisfy { generator[0, $0] == 0 }
                let row = (0..<m.columns).compactMap { j -> (column: Int, value: Double)? in m[0, j] != 0 ? (j, m[0, j]) : nil }
                return rowZero && !row.isEmpty ? row : nil
            }
            kronecker = mass != nil ? nil : try cellShape.flatMap { try KroneckerExponential(generator: generator, shape: $0, time: dt) }
            exponential = kronecker == nil && rational == nil ? KrylovExponential(generator) : nil
            main = nil
            starter = nil
            return
        case .spectral:
            throw FokkerPlanckError.badInput(file: nil, keyPath: "evolve.scheme", line: nil,
                                             message: "the spectral scheme is not implemented yet; use crank-nicolson, bdf2 or implicit-euler")
        }
        var gmres = solver.krylov
        gmres.tolerance = min(gmres.tolerance, Self.stepTolerance)
        func shifted(_ c: Double) -> SparseMatrix {
            mass.map { $0.combined(1, generator, -c * dt) } ?? generator.shifted(identity: 1, plus: -c * dt)
        }
        func prepare(_ c: Double) throws -> any LinearSystem {
            try solver.prepare(shifted(c), dimension: dimension, refine: false, gmres: gmres,
                               preconditioning: preconditioning.map { p in { (p, 1, -c * dt) } },
                               failureHint: "try a smaller dt")
        }
        exponential = nil
        kronecker = nil
        rational = nil
        conserved = nil
        main = try prepare(coefficient)
        if scheme == .bdf2 {
            // Same pattern: a direct starter reuses the symbolic analysis.
            if let direct = main as? DirectLinearSystem {
                starter = try DirectLinearSystem(samePatternAs: direct, shifted(1))
            } else {
                starter = try prepare(1)
            }
        } else {
            starter = nil
        }
    }

    /// Factorization statistics of the main step matrix (for GMRES: size, non-zeros, memory; for
    /// the exponential scheme, which factors nothing, size and non-zeros of L).
    public var statistics: FactorizationStatistics {
        if let main { return main.statistics }
        if let rational {
            var statistics = rational.statistics
            statistics.ordering += " (shift-and-invert Krylov exp(τM⁻¹L), one LU of M − γL)"
            return statistics
        }
        var statistics = FactorizationStatistics()
        statistics.size = generator.rows
        statistics.matrixNonzeros = generator.nonzeroCount
        statistics.ordering = kronecker != nil ? Self.tensorExponentialOrdering : "none (Krylov exp(τL))"
        return statistics
    }
    /// How a step is taken, for the output's `solver` attribute: the scheme and what it solves
    /// or applies, with a mass matrix M where the discretization has one.
    public var integratorDescription: String {
        let identity = mass == nil ? "I" : "M"
        switch scheme {
        case .exponential:
            if kronecker != nil {
                return "exp(τL)ρ once per frame, exactly, as the tensor product of the 1-d exponentials of L's Kronecker-sum factors"
            }
            if rational != nil {
                return "exp(τM⁻¹L)c once per frame by shift-and-invert Krylov (one LU of M − γL, γ = τ/10; tolerance 1e-11 per frame, ∫ρ restored)"
            }
            return "exp(τL)ρ once per frame by a Krylov (Arnoldi) exponential with error control (tolerance 1e-14)"
        default:
            let linear = main is KrylovLinearSystem
                ? "GMRES on \(identity) − cΔt L preconditioned by the exact inverse of its separable part"
                : "one UMFPACK LU of \(identity) − cΔt L"
            return "\(scheme.rawValue) steps with " + linear
        }
    }

    /// GMRES iterations over all steps (iterative solver only).
    public var krylovIterations: Int { (main?.krylov?.iterations ?? 0) + (starter?.krylov?.iterations ?? 0) }

    private func applyMass(_ x: [Double]) -> [Double] { mass?.multiply(x) ?? x }

    /// Advances ρ by one step.
    public mutating func step(_ rho: [Double]) throws -> [Double] {
        defer { steps += 1 }
        switch scheme {
        case .implicitEuler:
            return try main!.solve(applyMass(rho), guess: rho)
        case .crankNicolson:
            let l = generator.multiply(rho)
            var rhs = applyMass(rho)
            for i in rhs.indices { rhs[i] += 0.5 * dt * l[i] }
            return try main!.solve(rhs, guess: rho)
        case .bdf2:
            guard let before = previous else {
                previous = rho
                return try starter!.solve(applyMass(rho), guess: rho)
            }
            var rhs = applyMass(rho)
            let older = applyMass(before)
            for i in rhs.indices { rhs[i] = (4 * rhs[i] - older[i]) / 3 }
            previous = rho
            return try main!.solve(rhs, guess: rho)
        case .exponential:
            if let kronecker { return kronecker.apply(rho) }
            if let rational {
                var result = try rational.apply(rho)
                if let conserved {
                    // Rescaled, not shifted: a constant added through c_0 would carry the whole
                    // box's second moments into the covariance (measured 2.4e-10 against 4e-12).
                    let before = conserved.reduce(0) { $0 + $1.value * rho[$1.column] }
                    let after = conserved.reduce(0) { $0 + $1.value * result[$1.column] }
                    if after != 0 && after.isFinite { for i in result.indices { result[i] *= before / after } }
                }
                return result
            }
            return try exponential!.apply(rho, time: dt).result
        case .spectral:
            fatalError("unreachable: refused in init")
        }
    }
}
