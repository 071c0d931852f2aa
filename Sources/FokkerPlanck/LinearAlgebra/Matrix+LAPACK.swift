import CLapack
import Foundation

/// Dense factorizations through LAPACKE, row-major. All sizes here are tiny (d ≤ 8, or d² for the
/// Kronecker form of the Lyapunov equation), so copies are cheap and clarity wins.
public enum LinearAlgebraError: Error, CustomStringConvertible, Sendable {
    case singular(String)
    case lapack(routine: String, info: Int32)

    public var description: String {
        switch self {
        case let .singular(what): return "singular matrix: \(what)"
        case let .lapack(routine, info): return "LAPACK \(routine) failed (info = \(info))"
        }
    }
}

extension Matrix {
    // MARK: Linear systems

    /// Solves M X = B by LU with partial pivoting (LAPACK dgesv).
    public func solve(_ b: Matrix) throws -> Matrix {
        precondition(isSquare && b.rows == rows)
        var a = elements
        var x = b.elements
        var pivots = [Int32](repeating: 0, count: rows)
        let info = LAPACKE_dgesv(fp_lapack_row_major(), Int32(rows), Int32(b.columns),
                                 &a, Int32(columns), &pivots, &x, Int32(b.columns))
        if info > 0 { throw LinearAlgebraError.singular("dgesv: U(\(info),\(info)) = 0") }
        if info < 0 { throw LinearAlgebraError.lapack(routine: "dgesv", info: info) }
        return Matrix(rows: b.rows, columns: b.columns, elements: x)
    }

    public func solve(_ b: [Double]) throws -> [Double] {
        try solve(Matrix(rows: b.count, columns: 1, elements: b)).elements
    }

    public func inverse() throws -> Matrix { try solve(.identity(rows)) }

    /// Determinant from the LU factorization (LAPACK dgetrf).
    public func determinant() throws -> Double {
        precondition(isSquare)
        var a = elements
        var pivots = [Int32](repeating: 0, count: rows)
        let info = LAPACKE_dgetrf(fp_lapack_row_major(), Int32(rows), Int32(columns), &a,
                                  Int32(columns), &pivots)
        if info > 0 { return 0 }
        if info < 0 { throw LinearAlgebraError.lapack(routine: "dgetrf", info: info) }
        var det = 1.0
        for i in 0..<rows {
            det *= a[i * columns + i]
            if pivots[i] != Int32(i + 1) { det = -det }
        }
        return det
    }

    // MARK: Spectra

    /// Eigenvalues of a symmetric matrix, ascending (LAPACK dsyev).
    public func symmetricEigenvalues() throws -> [Double] {
        try symmetricEigen(vectors: false).values
    }

    /// Eigen-decomposition of a symmetric matrix M = V diag(λ) Vᵀ; columns of `vectors` are the
    /// eigenvectors, eigenvalues ascending (LAPACK dsyev).
    public func symmetricEigen(vectors: Bool = true) throws -> (values: [Double], vectors: Matrix) {
        precondition(isSquare)
        var a = elements
        var w = [Double](repeating: 0, count: rows)
        let job = Int8(UInt8(ascii: vectors ? "V" : "N"))
        let info = LAPACKE_dsyev(fp_lapack_row_major(), job, Int8(UInt8(ascii: "U")), Int32(rows), &a,
                                 Int32(columns), &w)
        if info != 0 { throw LinearAlgebraError.lapack(routine: "dsyev", info: info) }
        return (w, Matrix(rows: rows, columns: columns, elements: a))
    }

    /// Eigenvalues of a general real matrix as (real, imaginary) pairs (LAPACK dgeev).
    public func eigenvalues() throws -> [(re: Double, im: Double)] {
        precondition(isSquare)
        var a = elements
        var wr = [Double](repeating: 0, count: rows)
        var wi = [Double](repeating: 0, count: rows)
        var left = [Double](repeating: 0, count: 1)
        var right = [Double](repeating: 0, count: 1)
        let no = Int8(UInt8(ascii: "N"))
        let info = LAPACKE_dgeev(fp_lapack_row_major(), no, no, Int32(rows), &a, Int32(columns),
                                 &wr, &wi, &left, 1, &right, 1)
        if info != 0 { throw LinearAlgebraError.lapack(routine: "dgeev", info: info) }
        return zip(wr, wi).map { (re: $0, im: $1) }
    }

    /// Eigenvalues and right eigenvectors of a general real matrix (LAPACK dgeev). Column j of
    /// `vectors` is the unit eigenvector of a real eigenvalue j; for a complex pair (j, j + 1)
    /// columns j and j + 1 hold the real and imaginary parts of eigenvalue j's vector.
    public func eigen() throws -> (values: [(re: Double, im: Double)], vectors: Matrix) {
        precondition(isSquare)
        var a = elements
        var wr = [Double](repeating: 0, count: rows)
        var wi = [Double](repeating: 0, count: rows)
        var left = [Double](repeating: 0, count: 1)
        var right = [Double](repeating: 0, count: rows * rows)
        let info = LAPACKE_dgeev(fp_lapack_row_major(), Int8(UInt8(ascii: "N")), Int8(UInt8(ascii: "V")), Int32(rows), &a, Int32(columns),
                                 &wr, &wi, &left, 1, &right, Int32(rows))
        if info != 0 { throw LinearAlgebraError.lapack(routine: "dgeev", info: info) }
        return (zip(wr, wi).map { (re: $0, im: $1) }, Matrix(rows: rows, columns: rows, elements: right))
    }

    /// Singular values, descending (LAPACK dgesvd).
    public func singularValues() throws -> [Double] {
        var a = elements
        let k = min(rows, columns)
        var s = [Double](repeating: 0, count: k)
        var superb = [Double](repeating: 0, count: max(k - 1, 1))
        var u = [Double](repeating: 0, count: 1)
        var vt = [Double](repeating: 0, count: 1)
        let no = Int8(UInt8(ascii: "N"))
        let info = LAPACKE_dgesvd(fp_lapack_row_major(), no, no, Int32(rows), Int32(columns), &a,
                                  Int32(columns), &s, &u, 1, &vt, 1, &superb)
        if info != 0 { throw LinearAlgebraError.lapack(routine: "dgesvd", info: info) }
        return s
    }

    /// Numerical rank: singular values above `relativeTolerance` × the largest.
    public func rank(relativeTolerance: Double = 1e-10) throws -> Int {
        let s = try singularValues()
        guard let top = s.first, top > 0 else { return 0 }
        return s.filter { $0 > relativeTolerance * top }.count
    }
}

// MARK: - Lyapunov equation

extension Matrix {
    /// Solves the continuous Lyapunov equation A S + S Aᵀ = C for S.
    ///
    /// Written in Kronecker form, (I ⊗ A + A ⊗ I) vec(S) = vec(C), and solved by LU (dgesv): for the
    /// d ≤ 8 of grid problems this is a ≤ 64×64 system, exact to round-off × its condition number,
    /// and needs no Schur form. Fails when A has two eigenvalues summing to zero (then S is not
    /// unique, e.g. A not stable).
    public static func solveLyapunov(_ a: Matrix, _ c: Matrix) throws -> Matrix {
        precondition(a.isSquare && c.rows == a.rows && c.columns == a.columns)
        let n = a.rows
        var k = Matrix(rows: n * n, columns: n * n)
        for i in 0..<n {
            for j in 0..<n {
                let row = i * n + j
                // (A S)_ij = Σ_m A_im S_mj ; (S Aᵀ)_ij = Σ_m S_im A_jm
                for m in 0..<n {
                    k[row, m * n + j] += a[i, m]
                    k[row, i * n + m] += a[j, m]
                }
            }
        }
        let s = try k.solve(c.elements)
        var result = Matrix(rows: n, columns: n, elements: s)
        // Symmetrize the round-off when C is symmetric.
        if c.asymmetry == 0 {
            for i in 0..<n { for j in 0..<i {
                let v = 0.5 * (result[i, j] + result[j, i])
                result[i, j] = v; result[j, i] = v
            } }
        }
        return result
    }
}
