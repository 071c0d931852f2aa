import Foundation

/// Options of the stationary solve (problem-file `[solve]`). A method holds options only.
public struct StationarySolver: Sendable {
    public enum Method: String, Sendable, CaseIterable {
        /// Sparse LU of the normalised operator (UMFPACK).
        case direct
        /// GMRES on the same pinned operator, preconditioned by the inverse of its nearest
        /// separable operator (`SeparablePreconditioner`): for 3–4-d grids a direct LU cannot hold.
        case iterative
    }

    public var method: Method
    public var ordering: SparseOrdering
    /// GMRES settings of the iterative method (basis size, relative residual, iteration cap).
    public var krylov = GMRES()
    /// A solve whose relative residual ‖Lρ‖∞ / (‖L‖∞‖ρ‖∞) exceeds this is reported as failed: a
    /// backward-stable LU gives round-off × modest growth (1e-16…1e-13 here); 1e-8 is far above
    /// that and far below any discretization error, so only a broken solve trips it.
    public var residualLimit: Double = 1e-8
    /// `[solve] error_threshold`: a solve whose estimated relative L1 error of ρ (`ErrorEstimate`)
    /// exceeds this is reported with a warning saying what to do.
    public var errorThreshold: Double = ErrorEstimate.defaultThreshold

    public init(method: Method = .direct, ordering: SparseOrdering = .automatic) {
        self.method = method
        self.ordering = ordering
    }
}

/// A stationary density with its diagnostics.
public struct StationarySolution: Sendable {
    public let discretization: any Discretization
    /// The discretization's state, normalised to mass 1 (for finite volumes, the density itself).
    public let state: [Double]
    /// ρ at the output grid's cell centres, grid order, normalised so that Σ ρ · cell volume = 1.
    public let density: [Double]
    /// ‖L ρ‖∞ / (‖L‖∞ ‖ρ‖∞), with L ρ evaluated from the scheme's face fluxes.
    public let residual: Double
    /// Σ ρ · cell volume.
    public let mass: Double
    /// The most negative density value (0 when ρ ≥ 0 everywhere).
    public let minimumDensity: Double
    /// The direct solve's LU statistics; for the iterative method only size, matrix non-zeros,
    /// the working memory (as `peakMemoryBytes`) and the ordering "none (GMRES)" are set.
    public let factorization: FactorizationStatistics
    /// The iterative method's GMRES statistics and preconditioner (nil for the direct method).
    public var krylov: KrylovStatistics? = nil
    public var preconditionerSummary: String? = nil
    public let assemblySeconds: Double
    public let solveSeconds: Double
    public var grid: Grid { discretization.grid }
    /// What the basis cannot hold, with the error it drives in the functions it does hold
    /// (`Discretization.unresolvedResidual`, through this solve's factorization); nil where the
    /// discretization has no such check.
    public var unresolved: UnresolvedContent? = nil
}

extension StationarySolver {
    /// Solves L ρ = 0, Σ ρ V = 1.
    ///
    /// L is singular (1ᵀL = 0 by conservation, so its rows are linearly dependent) and is never
    /// handed to the factorization as is: the row of one cell r is replaced by the equation
    /// s ρ_r = s (s = |L_rr|, to keep the row scaled like its neighbours). Because the rows of L sum
    /// to zero, the dropped equation is implied by the others, so the modified system has the
    /// stationary state as its solution, up to scale, and is non-singular exactly when that state is
    /// unique. The result is then normalised to Σ ρ V = 1.
    ///
    /// Pinning one cell keeps the matrix as sparse (and its pattern as nearly symmetric) as L:
    /// replacing the row by the dense mass row Σ ρ_c = 1/V instead was measured 6× slower to factor
    /// (400² harmonic: 5.9 s against 0.9 s), because the dense row enters every frontal matrix.
    /// r is the middle cell; should the density there be negligible against its maximum (the
    /// solution would then be huge or overflow), the solve is repeated pinned at the maximum.
    /// `sizingUnresolved`: whether to size what the basis cannot hold (`StationarySolution.unresolved`);
    /// the error estimate's comparison solves do not need it.
    public func solve(_ discretization: any Discretization, sizingUnresolved: Bool = true) throws -> StationarySolution {
        let grid = discretization.grid
        guard !grid.axes.contains(where: { $0.boundary == .absorbing }) else {
            throw FokkerPlanckError.badInput(file: nil, keyPath: "grid.boundary", line: nil,
                message: "an absorbing wall lets probability leave, so no stationary state exists; use `fpsolve evolve` or reflecting/periodic walls")
        }
        // The middle cell (for finite volumes; another discretization's middle unknown).
        let middle = discretization.preferredPin ?? (discretization.stateCount == grid.cellCount
            ? grid.strides.enumerated().reduce(0) { $0 + (grid.shape[$1.offset] / 2) * $1.element } : discretization.stateCount / 2)

        let assemblyStart = DispatchTime.now()
        let operatorMatrix = discretization.assemble()
        let assemblySeconds = seconds(since: assemblyStart)
        let solveStart = DispatchTime.now()
        var density: [Double], system: any LinearSystem
        var preconditionerSummary: String? = nil
        var normalisedRow: Int? = nil
        switch method {
        case .direct where discretization.normalisationRow != nil:
            // A Galerkin method's zero row (the test function 1) becomes ∫ρ = 1 itself.
            let (row, entries) = discretization.normalisationRow!
            normalisedRow = row
            (density, system) = try solvePinned(operatorMatrix, pin: Self.normalisationPin(operatorMatrix, row: row, entries: entries),
                                                dimension: grid.dimension, guess: nil, preconditioning: nil)
        case .direct:
            (density, system) = try solvePinned(operatorMatrix, pin: Self.cellPin(operatorMatrix, middle), dimension: grid.dimension, guess: nil, preconditioning: nil)
            let finite = density.filter(\.isFinite)
            let peak = finite.map(abs).max() ?? .infinity
            if finite.count < density.count || peak > 1e200 {
                // ρ at the middle cell is negligible against the maximum: pin where ρ is largest.
                let magnitude = density.map { $0.isFinite ? abs($0) : Double.infinity }
                let top = magnitude.indices.max { magnitude[$0] < magnitude[$1] }!
                (density, system) = try solvePinned(operatorMatrix, pin: Self.cellPin(operatorMatrix, top), dimension: grid.dimension, guess: nil, preconditioning: nil)
            }
        case .iterative:
            guard let provider = try discretization.shiftedPreconditioning() else {
                throw FokkerPlanckError.solverFailed("this discretization has no preconditioner for the iterative method; use [solve] method = \"direct\"")
            }
            // Pin where the guess is largest (the mode), so that ρ_r = 1 keeps ρ of order 1.
            let guess = provider.stationaryGuess
            let top = guess.map { g in g.indices.max { g[$0] < g[$1] }! } ?? middle
            let start = guess.flatMap { g in g[top] > 0 ? g.map { $0 / g[top] } : nil }
            (density, system) = try solvePinned(operatorMatrix, pin: Self.cellPin(operatorMatrix, top), dimension: grid.dimension, guess: start,
                                                preconditioning: { (provider, 0, 1) })
            preconditionerSummary = provider.preconditionerSummary
        }
        let solveSeconds = seconds(since: solveStart)

        guard density.allSatisfy(\.isFinite) else {
            throw FokkerPlanckError.solverFailed("the stationary density is not finite (singular operator?)")
        }
        let total = discretization.mass(of: density)
        guard total > 0 else { throw FokkerPlanckError.solverFailed("the stationary density has no positive mass") }
        for c in density.indices { density[c] /= total }
        let mass = discretization.mass(of: density)

        // Residual of the original, unmodified equations, the discretization's own way.
        let residual = discretization.stationaryResidual(of: density, generator: operatorMatrix)
        guard residual <= residualLimit else {
            throw FokkerPlanckError.solverFailed(String(format: "relative residual %.3e exceeds %.1e: the stationary state is not unique or the factorization is unstable", residual, residualLimit))
        }
        let field = discretization.density(of: density)
        var solution = StationarySolution(discretization: discretization, state: density, density: field, residual: residual, mass: mass,
                                          minimumDensity: min(0, field.min() ?? 0), factorization: system.statistics,
                                          krylov: system.krylov, preconditionerSummary: preconditionerSummary,
                                          assemblySeconds: assemblySeconds, solveSeconds: solveSeconds)
        if sizingUnresolved, let normalisedRow {
            // The normalisation row's right-hand side 0: a correction that keeps ∫ρ.
            solution.unresolved = discretization.unresolvedResidual(of: density) { rhs in
                var b = rhs
                b[normalisedRow] = 0
                return try system.solve(b)
            }
        }
        return solution
    }

    /// The equation that replaces row `row` of L: Σ entries_j ρ_j = scale, its coefficients
    /// already multiplied by `scale` so that the row is scaled like its neighbours.
    typealias Pin = (row: Int, entries: [(column: Int, value: Double)], scale: Double)

    /// ρ_cell = 1, scaled by |L_cc|. A zero diagonal (the mass row of a spectral generator is all
    /// zero) takes the operator's scale instead.
    static func cellPin(_ operatorMatrix: SparseMatrix, _ cell: Int) -> Pin {
        let diagonal = abs(operatorMatrix[cell, cell])
        let scale = diagonal > 0 ? diagonal : max(operatorMatrix.infinityNorm, 1)
        return (cell, [(cell, scale)], scale)
    }

    /// A discretization's normalisation row (∫ρ = 1 for a Galerkin method), scaled to ‖L‖∞.
    static func normalisationPin(_ operatorMatrix: SparseMatrix, row: Int, entries: [(column: Int, value: Double)]) -> Pin {
        let scale = max(operatorMatrix.infinityNorm, .leastNormalMagnitude) / max(entries.reduce(0) { $0 + abs($1.value) }, .leastNormalMagnitude)
        return (row, entries.map { ($0.column, $0.value * scale) }, scale)
    }

    /// Prepares L with the pinned row in place (factored, or preconditioned for GMRES with the
    /// generator's own preconditioner) and solves for the stationary state scaled by the pin.
    private func solvePinned(_ operatorMatrix: SparseMatrix, pin: Pin, dimension: Int, guess: [Double]?,
                             preconditioning: (() throws -> (any ShiftedPreconditioning, alpha: Double, beta: Double))?)
        throws -> ([Double], any LinearSystem) {
        var rhs = [Double](repeating: 0, count: operatorMatrix.rows)
        rhs[pin.row] = pin.scale
        let system = try prepare(operatorMatrix.replacingRow(pin.row, with: pin.entries), dimension: dimension, refine: true,
                                 preconditioning: preconditioning, failureHint: "raise [solve] max_iterations or use fewer cells")
        return (try system.solve(rhs, guess: guess), system)
    }
}
