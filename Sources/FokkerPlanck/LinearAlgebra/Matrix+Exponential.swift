import CLapack
import Foundation

extension Matrix {
    /// The matrix exponential e^M by scaling and squaring with the [6/6] Padé approximant
    /// (Moler & Van Loan, method 3; Golub & Van Loan Alg. 11.3.1): M is scaled by 2^−s so that
    /// ‖M/2^s‖∞ ≤ 1/2, where the [6/6] Padé error is below 1e-16, the denominator system is solved
    /// by LU (LAPACK dgesv), and the result squared s times.
    public func exponential() throws -> Matrix {
        precondition(isSquare)
        let n = rows
        // Products by BLAS from 64 rows on (the 1-d factors of a Kronecker exponential, hundreds of
        // rows); the small matrices of the closed forms and of Krylov keep the plain loop.
        let times: (Matrix, Matrix) -> Matrix = n >= 64 ? { $0.blasProduct($1) } : { $0 * $1 }
        var norm = 0.0
        for i in 0..<n { norm = max(norm, (0..<n).reduce(0) { $0 + abs(self[i, $1]) }) }
        let squarings = norm > 0.5 ? Int(ceil(log2(norm / 0.5))) : 0
        let a = pow(2.0, -Double(squarings)) * self
        let q = 6
        var c = 0.5
        var x = a
        var numerator = Matrix.identity(n) + c * a
        var denominator = Matrix.identity(n) - c * a
        for k in 2...q {
            c *= Double(q - k + 1) / Double(k * (2 * q - k + 1))
            x = times(a, x)
            numerator = numerator + c * x
            denominator = k % 2 == 0 ? denominator + c * x : denominator - c * x
        }
        var result = try denominator.solve(numerator)
        for _ in 0..<squarings { result = times(result, result) }
        return result
    }

    /// self · b by BLAS dgemm (row-major).
    func blasProduct(_ b: Matrix) -> Matrix {
        precondition(columns == b.rows)
        var c = Matrix(rows: rows, columns: b.columns)
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(rows), Int32(b.columns), Int32(columns), 1,
                    elements, Int32(columns), b.elements, Int32(b.columns), 0, &c.elements, Int32(b.columns))
        return c
    }
}
