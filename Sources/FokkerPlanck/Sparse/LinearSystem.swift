import Foundation

/// A linear system A x = b prepared once — factored, or given its preconditioner — and then solved
/// for any number of right-hand sides. This is the seam between what needs solves and how they are
/// done: the stationary state (a pinned generator), implicit time steps (I − cΔt L), and, next,
/// adjoint solves for first-passage times (`transposed`), shift-invert solves for the slowest
/// eigenvalues (A = L − σI), and a distributed backend (PETSc, rows owned per rank) as a third
/// conformer. Callers never switch over methods; `StationarySolver.prepare` picks the conformer
/// from `[solve]`.
public protocol LinearSystem: AnyObject {
    var size: Int { get }
    /// Solves A x = b, or Aᵀ x = b when `transposed`. `guess` may start an iterative solve.
    func solve(_ b: [Double], transposed: Bool, guess: [Double]?) throws -> [Double]
    /// The direct method's LU statistics; for an iterative one size, non-zeros and working memory.
    var statistics: FactorizationStatistics { get }
    /// GMRES statistics summed over every solve so far (nil for a direct method).
    var krylov: KrylovStatistics? { get }
}

extension LinearSystem {
    public func solve(_ b: [Double], guess: [Double]? = nil) throws -> [Double] {
        try solve(b, transposed: false, guess: guess)
    }
}

/// What an iterative solve of a discretization's shifted generator α I + β L needs from the
/// discretization: a preconditioner (for finite volumes, the exact inverse of the nearest
/// separable operator, `SeparableDecomposition`).
public protocol ShiftedPreconditioning: AnyObject {
    func preconditioner(identity alpha: Double, generator beta: Double) throws -> any Preconditioner
    /// A short description for the summaries ("exact inverse of the separable …").
    var preconditionerSummary: String { get }
    /// Working memory of the preconditioner, bytes.
    var memoryBytes: Double { get }
    /// A positive approximation of the stationary state (the separable operator's), to start
    /// GMRES from; nil when there is none.
    var stationaryGuess: [Double]? { get }
}

/// Sparse LU (UMFPACK): analysed and factored once.
public final class DirectLinearSystem: LinearSystem {
    public let lu: SparseLU
    /// UMFPACK's iterative refinement on every solve (see `SparseLU.solve`).
    public let refine: Bool

    public init(_ matrix: SparseMatrix, ordering: SparseOrdering, dimension: Int, refine: Bool) throws {
        let analysis = try SparseLUAnalysis(pattern: matrix, ordering: ordering.resolved(dimension: dimension))
        lu = try analysis.factor(matrix)
        self.refine = refine
    }

    /// A matrix with the same pattern, reusing this one's symbolic analysis.
    public init(samePatternAs other: DirectLinearSystem, _ matrix: SparseMatrix) throws {
        lu = try other.lu.analysis.factor(matrix)
        refine = other.refine
    }

    public var size: Int { lu.analysis.size }
    public var statistics: FactorizationStatistics { lu.statistics }
    public var krylov: KrylovStatistics? { nil }

    public func solve(_ b: [Double], transposed: Bool, guess: [Double]?) throws -> [Double] {
        try lu.solve(b, transpose: transposed, refine: refine)
    }
}

/// Restarted GMRES with a right preconditioner.
public final class KrylovLinearSystem: LinearSystem {
    public let matrix: SparseMatrix
    public let preconditioner: any Preconditioner
    public let gmres: GMRES
    /// Appended to the message when a solve does not converge (what the user can do).
    let failureHint: String
    public let statistics: FactorizationStatistics
    public private(set) var krylov: KrylovStatistics? = KrylovStatistics()

    public init(_ matrix: SparseMatrix, preconditioner: any Preconditioner, gmres: GMRES,
                statistics: FactorizationStatistics, failureHint: String) {
        self.matrix = matrix
        self.preconditioner = preconditioner
        self.gmres = gmres
        self.statistics = statistics
        self.failureHint = failureHint
    }

    public var size: Int { matrix.rows }

    public func solve(_ b: [Double], transposed: Bool, guess: [Double]?) throws -> [Double] {
        guard !transposed else {
            // The separable preconditioner has no transpose yet; the first client (first-passage
            // times) will add one.
            throw FokkerPlanckError.solverFailed("transposed solves are not available with the iterative method yet; use [solve] method = \"direct\"")
        }
        let (x, stats) = gmres.solve(matrix, b, initialGuess: guess, preconditioner: preconditioner)
        krylov!.iterations += stats.iterations
        krylov!.restarts += stats.restarts
        krylov!.seconds += stats.seconds
        krylov!.relativeResidual = stats.relativeResidual
        krylov!.converged = stats.converged
        guard stats.converged else {
            throw FokkerPlanckError.solverFailed(String(format: "GMRES did not converge: relative residual %.2e after %d iterations (tolerance %.1e); %@",
                                                        stats.relativeResidual, stats.iterations, gmres.tolerance, failureHint))
        }
        return x
    }
}

extension StationarySolver {
    /// The system α I + β L (or `matrix` itself when given) prepared as `[solve]` says: sparse LU
    /// with the chosen ordering, or GMRES (the given settings) preconditioned through
    /// `preconditioning`. One entry point for the stationary solve and the time steppers, so that
    /// every `[solve]` option reaches both.
    public func prepare(_ matrix: SparseMatrix, dimension: Int, refine: Bool, gmres: GMRES? = nil,
                        preconditioning: (() throws -> (any ShiftedPreconditioning, alpha: Double, beta: Double))?,
                        failureHint: String) throws -> any LinearSystem {
        switch method {
        case .direct:
            return try DirectLinearSystem(matrix, ordering: ordering, dimension: dimension, refine: refine)
        case .iterative:
            guard let preconditioning else {
                throw FokkerPlanckError.solverFailed("the iterative method needs a preconditioner this discretization does not provide; use [solve] method = \"direct\"")
            }
            let (provider, alpha, beta) = try preconditioning()
            let settings = gmres ?? krylov
            var statistics = FactorizationStatistics()
            statistics.size = matrix.rows
            statistics.matrixNonzeros = matrix.nonzeroCount
            statistics.ordering = "none (GMRES)"
            // Working memory: preconditioner, matrix (value and index), restart + 6 vectors.
            statistics.peakMemoryBytes = provider.memoryBytes + Double(matrix.nonzeroCount) * 16
                + Double(settings.restart + 6) * Double(matrix.rows) * 8
            return KrylovLinearSystem(matrix, preconditioner: try provider.preconditioner(identity: alpha, generator: beta),
                                      gmres: settings, statistics: statistics, failureHint: failureHint)
        }
    }
}
