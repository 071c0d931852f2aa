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
    public let scheme: FiniteVolumeScheme
    /// ρ at cell centres, grid order, normalised so that Σ ρ · cell volume = 1.
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
    public var grid: Grid { scheme.grid }
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
    public func solve(_ scheme: FiniteVolumeScheme) throws -> StationarySolution {
        let grid = scheme.grid
        guard !grid.axes.contains(where: { $0.boundary == .absorbing }) else {
            throw FokkerPlanckError.badInput(file: nil, keyPath: "grid.boundary", line: nil,
                message: "an absorbing wall lets probability leave, so no stationary state exists; use `fpsolve evolve` or reflecting/periodic walls")
        }
        let middle = grid.strides.enumerated().reduce(0) { $0 + (grid.shape[$1.offset] / 2) * $1.element }

        let assemblyStart = DispatchTime.now()
        let operatorMatrix = scheme.assemble()
        let assemblySeconds = seconds(since: assemblyStart)
        let solveStart = DispatchTime.now()
        var density: [Double], statistics: FactorizationStatistics
        var krylovStatistics: KrylovStatistics? = nil, preconditionerSummary: String? = nil
        switch method {
        case .direct:
            (density, statistics) = try solvePinned(operatorMatrix, at: middle, dimension: grid.dimension)
            let finite = density.filter(\.isFinite)
            let peak = finite.map(abs).max() ?? .infinity
            if finite.count < density.count || peak > 1e200 {
                // ρ at the middle cell is negligible against the maximum: pin where ρ is largest.
                let magnitude = density.map { $0.isFinite ? abs($0) : Double.infinity }
                let top = magnitude.indices.max { magnitude[$0] < magnitude[$1] }!
                (density, statistics) = try solvePinned(operatorMatrix, at: top, dimension: grid.dimension)
            }
        case .iterative:
            let decomposition = try SeparableDecomposition(scheme: scheme)
            let preconditioner = try decomposition.preconditioner()
            let guess = decomposition.productGuess
            // Pin where the guess is largest (the mode), so that ρ_r = 1 keeps ρ of order 1.
            let top = guess.indices.max { guess[$0] < guess[$1] }!
            let (pinned, rhs) = Self.pinnedSystem(operatorMatrix, at: top)
            let start = guess[top] > 0 ? guess.map { $0 / guess[top] } : nil
            let (solution, krylov) = self.krylov.solve(pinned, rhs, initialGuess: start, preconditioner: preconditioner)
            guard krylov.converged else {
                throw FokkerPlanckError.solverFailed(String(format: "GMRES did not converge: relative residual %.2e after %d iterations (tolerance %.1e); raise [solve] max_iterations or use fewer cells", krylov.relativeResidual, krylov.iterations, self.krylov.tolerance))
            }
            density = solution
            krylovStatistics = krylov
            let names = decomposition.groups.map { group in "(" + group.map { grid.axes[$0].name }.joined(separator: ", ") + ")" }
            preconditionerSummary = "exact inverse of the separable L\(names[0]) ⊕ L\(names[1]) (set up in \(String(format: "%.2f", decomposition.setupSeconds)) s)"
            statistics = .krylov(matrix: operatorMatrix, decomposition: decomposition, restart: self.krylov.restart)
        }
        let solveSeconds = seconds(since: solveStart)

        guard density.allSatisfy(\.isFinite) else {
            throw FokkerPlanckError.solverFailed("the stationary density is not finite (singular operator?)")
        }
        let total = grid.integrate(density)
        guard total > 0 else { throw FokkerPlanckError.solverFailed("the stationary density has no positive mass") }
        for c in density.indices { density[c] /= total }
        let mass = grid.integrate(density)

        // Residual of the original, unmodified equations, from the face fluxes.
        let (divergence, _) = scheme.fluxDivergence(density)
        let operatorNorm = operatorMatrix.infinityNorm
        let densityNorm = density.reduce(0) { max($0, abs($1)) }
        let residual = (divergence.reduce(0) { max($0, abs($1)) }) / max(operatorNorm * densityNorm, .leastNormalMagnitude)
        guard residual <= residualLimit else {
            throw FokkerPlanckError.solverFailed(String(format: "relative residual %.3e exceeds %.1e: the stationary state is not unique or the factorization is unstable", residual, residualLimit))
        }
        return StationarySolution(scheme: scheme, density: density, residual: residual, mass: mass,
                                  minimumDensity: min(0, density.min() ?? 0), factorization: statistics,
                                  krylov: krylovStatistics, preconditionerSummary: preconditionerSummary,
                                  assemblySeconds: assemblySeconds, solveSeconds: solveSeconds)
    }

    /// Factors L with row `cell` replaced by |L_cc| e_cell and solves for ρ with ρ_cell = 1.
    private func solvePinned(_ operatorMatrix: SparseMatrix, at cell: Int, dimension: Int) throws -> ([Double], FactorizationStatistics) {
        let (pinned, rhs) = Self.pinnedSystem(operatorMatrix, at: cell)
        let analysis = try SparseLUAnalysis(pattern: pinned, ordering: ordering.resolved(dimension: dimension))
        let lu = try analysis.factor(pinned)
        return (try lu.solve(rhs), lu.statistics)
    }

    /// L with the row of `cell` replaced by |L_cc| e_cell, and the right-hand side |L_cc| e_cell:
    /// the system whose solution is the stationary state scaled to ρ_cell = 1.
    private static func pinnedSystem(_ operatorMatrix: SparseMatrix, at cell: Int) -> (matrix: SparseMatrix, rhs: [Double]) {
        let scale = max(abs(operatorMatrix[cell, cell]), .leastNormalMagnitude)
        var rhs = [Double](repeating: 0, count: operatorMatrix.rows)
        rhs[cell] = scale
        return (operatorMatrix.replacingRow(cell, withDiagonal: scale), rhs)
    }
}
