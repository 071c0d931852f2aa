import CSuiteSparse
import Foundation

/// Fill-reducing column ordering for the sparse LU factorization.
public enum SparseOrdering: String, Sendable, CaseIterable {
    /// AMD on 1- and 2-d grids, METIS (nested dissection) on 3- and 4-d grids, where it was measured
    /// to cut fill 2–3× and time 3–4× (32³: 5.6e7 → 1.9e7 entries; 12⁴: 5.9e7 → 2.5e7).
    case automatic
    case amd
    case metis
    /// UMFPACK tries AMD, METIS and (for some matrices) nested dissection and keeps the best.
    case best
}

extension SparseOrdering {
    /// The concrete ordering for a grid of this dimension.
    public func resolved(dimension: Int) -> SparseOrdering {
        guard self == .automatic else { return self }
        return dimension >= 3 ? .metis : .amd
    }
}

/// What a sparse factorization cost: the numbers a user needs to judge whether a bigger grid fits.
public struct FactorizationStatistics: Sendable, Equatable {
    public var size: Int = 0
    public var matrixNonzeros: Int = 0
    /// Non-zeros of L and of U (the fill).
    public var lowerNonzeros: Int = 0
    public var upperNonzeros: Int = 0
    /// Peak memory of UMFPACK during factorization, bytes.
    public var peakMemoryBytes: Double = 0
    public var flops: Double = 0
    /// UMFPACK's cheap reciprocal condition estimate, min|U_ii| / max|U_ii|.
    public var reciprocalCondition: Double = 0
    public var ordering: String = ""
    public var symbolicSeconds: Double = 0
    public var numericSeconds: Double = 0

    /// (nnz(L) + nnz(U)) / nnz(A).
    public var fillRatio: Double { matrixNonzeros > 0 ? Double(lowerNonzeros + upperNonzeros) / Double(matrixNonzeros) : 0 }
}

/// The symbolic phase of UMFPACK's sparse LU (column pre-ordering and analysis) of a CSC pattern.
///
/// Factor once, solve many: the analysis depends only on the pattern, so any number of numeric
/// factorizations of matrices with the same pattern (`factor(_:)`) can reuse it — for example the
/// (I − Δt L) of a time stepper at several step sizes.
public final class SparseLUAnalysis {
    let columnStarts: [Int]
    let rowIndices: [Int]
    public let size: Int
    let ordering: SparseOrdering
    fileprivate var symbolic: UnsafeMutableRawPointer?
    public private(set) var statistics = FactorizationStatistics()

    /// Runs the symbolic analysis of the pattern of `matrix` (square, CSC).
    public init(pattern matrix: SparseMatrix, ordering: SparseOrdering = .automatic) throws {
        precondition(matrix.rows == matrix.columns, "UMFPACK: square matrices only")
        columnStarts = matrix.columnStarts
        rowIndices = matrix.rowIndices
        size = matrix.rows
        self.ordering = ordering
        var control = UMFPACKControl(ordering: ordering)
        var info = [Double](repeating: 0, count: Int(fp_umfpack_info_size()))
        let start = DispatchTime.now()
        let status = matrix.values.withUnsafeBufferPointer { values in
            umfpack_dl_symbolic(size, size, columnStarts, rowIndices, values.baseAddress, &symbolic, &control.values, &info)
        }
        guard status == fp_umfpack_ok() else {
            throw FokkerPlanckError.solverFailed("UMFPACK symbolic analysis failed (status \(status))")
        }
        statistics.size = size
        statistics.matrixNonzeros = matrix.nonzeroCount
        statistics.symbolicSeconds = seconds(since: start)
        // The ordering actually used is reported by the symbolic phase (not the numeric one).
        statistics.ordering = UMFPACKControl.orderingName(info[Int(fp_umfpack_info_ordering_used())])
    }

    deinit {
        if symbolic != nil { umfpack_dl_free_symbolic(&symbolic) }
    }

    /// Numeric LU factorization of a matrix with the analysed pattern.
    public func factor(_ matrix: SparseMatrix) throws -> SparseLU {
        precondition(matrix.columnStarts == columnStarts && matrix.rowIndices == rowIndices,
                     "SparseLUAnalysis.factor: the pattern differs from the analysed one")
        return try SparseLU(analysis: self, values: matrix.values)
    }
}

/// A numeric sparse LU factorization P A Q = L U (UMFPACK), ready to solve A x = b any number of times.
public final class SparseLU {
    public let analysis: SparseLUAnalysis
    let values: [Double]
    private var numeric: UnsafeMutableRawPointer?
    public private(set) var statistics: FactorizationStatistics

    fileprivate init(analysis: SparseLUAnalysis, values: [Double]) throws {
        self.analysis = analysis
        self.values = values
        var control = UMFPACKControl(ordering: analysis.ordering)
        var info = [Double](repeating: 0, count: Int(fp_umfpack_info_size()))
        let start = DispatchTime.now()
        let status = umfpack_dl_numeric(analysis.columnStarts, analysis.rowIndices, values, analysis.symbolic,
                                        &numeric, &control.values, &info)
        var stats = analysis.statistics
        stats.numericSeconds = seconds(since: start)
        stats.lowerNonzeros = Int(info[Int(fp_umfpack_info_lnz())])
        stats.upperNonzeros = Int(info[Int(fp_umfpack_info_unz())])
        stats.peakMemoryBytes = info[Int(fp_umfpack_info_peak_memory())] * info[Int(fp_umfpack_info_size_of_unit())]
        stats.flops = info[Int(fp_umfpack_info_flops())]
        stats.reciprocalCondition = info[Int(fp_umfpack_info_rcond())]
        statistics = stats
        if status == fp_umfpack_warning_singular() {
            throw FokkerPlanckError.solverFailed("the matrix is singular to working precision (UMFPACK)")
        }
        guard status == fp_umfpack_ok() else {
            throw FokkerPlanckError.solverFailed("UMFPACK numeric factorization failed (status \(status))")
        }
    }

    deinit {
        if numeric != nil { umfpack_dl_free_numeric(&numeric) }
    }

    /// Solves A x = b (or Aᵀ x = b).
    ///
    /// - Parameter refine: UMFPACK's iterative refinement (up to 2 steps, each a product with A and
    ///   another pair of triangular solves). Worth it for the ill-conditioned stationary system;
    ///   a time step's I − cΔt L is well conditioned, and skipping it halves the cost of a step.
    public func solve(_ b: [Double], transpose: Bool = false, refine: Bool = true) throws -> [Double] {
        precondition(b.count == analysis.size)
        var x = [Double](repeating: 0, count: b.count)
        var control = UMFPACKControl(ordering: analysis.ordering)
        if !refine { control.values[Int(fp_umfpack_irstep_index())] = 0 }
        var info = [Double](repeating: 0, count: Int(fp_umfpack_info_size()))
        let sys = Int(transpose ? fp_umfpack_sys_At() : fp_umfpack_sys_A())
        let status = umfpack_dl_solve(sys, analysis.columnStarts, analysis.rowIndices, values, &x, b, numeric,
                                      &control.values, &info)
        guard status == fp_umfpack_ok() else {
            throw FokkerPlanckError.solverFailed("UMFPACK solve failed (status \(status))")
        }
        return x
    }
}

/// UMFPACK's Control array with the defaults and the chosen ordering.
struct UMFPACKControl {
    var values: [Double]

    init(ordering: SparseOrdering) {
        values = [Double](repeating: 0, count: Int(fp_umfpack_control_size()))
        umfpack_dl_defaults(&values)
        let index = Int(fp_umfpack_ordering_index())
        switch ordering {
        case .automatic: break  // resolved by the caller, who knows the grid; UMFPACK's default otherwise
        case .amd: values[index] = fp_umfpack_ordering_amd()
        case .metis: values[index] = fp_umfpack_ordering_metis()
        case .best: values[index] = fp_umfpack_ordering_best()
        }
    }

    static func orderingName(_ code: Double) -> String {
        // Codes from umfpack.h: 0 CHOLMOD, 1 AMD, 2 given, 3 METIS, 4 best, 5 none, 6 user.
        switch Int(code) {
        case 0: return "cholmod"
        case 1: return "amd"
        case 3: return "metis"
        case 5: return "none"
        default: return "code \(Int(code))"
        }
    }
}

@inline(__always)
func seconds(since start: DispatchTime) -> Double {
    Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) * 1e-9
}
