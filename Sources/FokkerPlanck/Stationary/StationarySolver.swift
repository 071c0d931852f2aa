import Foundation

/// Options of the stationary solve (problem-file `[solve]`). A method holds options only.
public struct StationarySolver: Sendable {
    public enum Method: String, Sendable, CaseIterable {
        /// Sparse LU of the normalised operator (UMFPACK).
        case direct
    }

    public var method: Method
    public var ordering: SparseOrdering
    /// A solve whose relative residual ‖Lρ‖∞ / (‖L‖∞‖ρ‖∞) exceeds this is reported as failed: a
    /// backward-stable LU gives round-off × modest growth (1e-16…1e-13 here); 1e-8 is far above
    /// that and far below any discretization error, so only a broken solve trips it.
    public var residualLimit: Double = 1e-8

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
    public let factorization: FactorizationStatistics
    public let assemblySeconds: Double
    public let solveSeconds: Double
    public var grid: Grid { scheme.grid }
}

extension StationarySolver {
    /// Solves L ρ = 0, Σ ρ V = 1.
    ///
    /// L is singular (1ᵀL = 0 by conservation, so its rows are linearly dependent) and is never
    /// handed to the factorization as is: one row — the cell at the middle of the grid — is replaced
    /// by the normalisation Σ_c ρ_c = 1/V. Because the rows of L sum to zero that row's equation is
    /// implied by the others, so the modified system has the same solution and is non-singular
    /// exactly when the stationary state is unique. UMFPACK's row scaling takes care of the dense
    /// row's magnitude.
    public func solve(_ scheme: FiniteVolumeScheme) throws -> StationarySolution {
        let grid = scheme.grid
        guard !grid.axes.contains(where: { $0.boundary == .absorbing }) else {
            throw FokkerPlanckError.badInput(file: nil, keyPath: "grid.boundary", line: nil,
                message: "an absorbing wall lets probability leave, so no stationary state exists; use `fpsolve evolve` or reflecting/periodic walls")
        }
        let volume = grid.cellVolume
        let middle = grid.strides.enumerated().reduce(0) { $0 + (grid.shape[$1.offset] / 2) * $1.element }

        let assemblyStart = DispatchTime.now()
        let matrix = scheme.assemble(replacingRow: (middle, 1.0))
        let assemblySeconds = seconds(since: assemblyStart)

        var rhs = [Double](repeating: 0, count: grid.cellCount)
        rhs[middle] = 1 / volume
        let solveStart = DispatchTime.now()
        let analysis = try SparseLUAnalysis(pattern: matrix, ordering: ordering.resolved(dimension: grid.dimension))
        let lu = try analysis.factor(matrix)
        let density = try lu.solve(rhs)
        let solveSeconds = seconds(since: solveStart)

        guard density.allSatisfy(\.isFinite) else {
            throw FokkerPlanckError.solverFailed("the stationary density is not finite (singular operator?)")
        }
        let mass = grid.integrate(density)

        // Residual of the original, unmodified equations, from the face fluxes.
        let (divergence, _) = scheme.fluxDivergence(density)
        let operatorNorm = Self.infinityNorm(of: matrix, excludingRow: middle)
        let densityNorm = density.reduce(0) { max($0, abs($1)) }
        let residual = (divergence.reduce(0) { max($0, abs($1)) }) / max(operatorNorm * densityNorm, .leastNormalMagnitude)
        guard residual <= residualLimit else {
            throw FokkerPlanckError.solverFailed(String(format: "relative residual %.3e exceeds %.1e: the stationary state is not unique or the factorization is unstable", residual, residualLimit))
        }
        return StationarySolution(scheme: scheme, density: density, residual: residual, mass: mass,
                                  minimumDensity: min(0, density.min() ?? 0), factorization: lu.statistics,
                                  assemblySeconds: assemblySeconds, solveSeconds: solveSeconds)
    }

    static func infinityNorm(of matrix: SparseMatrix, excludingRow excluded: Int) -> Double {
        var sums = [Double](repeating: 0, count: matrix.rows)
        for j in 0..<matrix.columns {
            for p in matrix.columnStarts[j]..<matrix.columnStarts[j + 1] { sums[matrix.rowIndices[p]] += abs(matrix.values[p]) }
        }
        sums[excluded] = 0
        return sums.max() ?? 0
    }
}
