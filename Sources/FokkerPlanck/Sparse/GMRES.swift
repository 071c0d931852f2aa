import CLapack
import Foundation

/// What a preconditioned Krylov solve needs from a preconditioner: z ≈ M⁻¹ r.
public protocol Preconditioner {
    func apply(_ r: [Double]) -> [Double]
}

/// The outcome of a GMRES solve.
public struct KrylovStatistics: Sendable, Equatable {
    /// Matrix–vector products (= preconditioner applications, + one per restart).
    public var iterations: Int = 0
    public var restarts: Int = 0
    /// ‖b − A x‖₂ / ‖b‖₂ at the end, recomputed from x (not the recurrence's estimate).
    public var relativeResidual: Double = .infinity
    public var converged: Bool = false
    public var seconds: Double = 0
}

/// Restarted GMRES(m) with right preconditioning (Saad, *Iterative Methods for Sparse Linear
/// Systems*, §9.3.2): minimises ‖b − A M⁻¹ y‖₂ over the Krylov space of A M⁻¹, x = x₀ + M⁻¹ y,
/// so the residual it monitors is the true residual of A x = b, whatever M is.
///
/// Orthogonalisation is classical Gram–Schmidt applied twice (CGS2: as stable as modified
/// Gram–Schmidt, but two BLAS-2 sweeps over the basis instead of j BLAS-1 ones); the Hessenberg
/// matrix is reduced by Givens rotations as it grows, so the residual norm is known at every step.
public struct GMRES: Sendable {
    /// Basis size before a restart; memory is (restart + 1) vectors.
    public var restart: Int = 100
    /// Stop when ‖b − A x‖₂ ≤ tolerance ‖b‖₂.
    public var tolerance: Double = 1e-10
    public var maxIterations: Int = 2000

    public init(restart: Int = 100, tolerance: Double = 1e-10, maxIterations: Int = 2000) {
        self.restart = restart
        self.tolerance = tolerance
        self.maxIterations = maxIterations
    }

    public func solve(_ a: SparseMatrix, _ b: [Double], initialGuess: [Double]? = nil,
                      preconditioner: some Preconditioner) -> (solution: [Double], statistics: KrylovStatistics) {
        let start = DispatchTime.now()
        let n = b.count
        precondition(a.rows == n && a.columns == n)
        var x = initialGuess ?? [Double](repeating: 0, count: n)
        var stats = KrylovStatistics()
        let bNorm = max(norm(b), .leastNormalMagnitude)
        let m = max(1, restart)
        var basis = [Double](repeating: 0, count: (m + 1) * n)
        var hessenberg = [Double](repeating: 0, count: (m + 1) * m)  // column-major-ish: h[i + j*(m+1)]
        var cosines = [Double](repeating: 0, count: m), sines = [Double](repeating: 0, count: m)
        var g = [Double](repeating: 0, count: m + 1)
        var h = [Double](repeating: 0, count: m + 1), h2 = [Double](repeating: 0, count: m + 1)

        var residual = subtract(b, a.multiply(x))
        var beta = norm(residual)
        stats.relativeResidual = beta / bNorm
        while stats.relativeResidual > tolerance && stats.iterations < maxIterations {
            for i in 0..<n { basis[i] = residual[i] / beta }
            for i in 0...m { g[i] = 0 }
            g[0] = beta
            var k = 0
            while k < m && stats.iterations < maxIterations {
                let z = preconditioner.apply(Array(basis[(k * n)..<((k + 1) * n)]))
                var w = a.multiply(z)
                stats.iterations += 1
                orthogonalizeCGS2(&w, against: basis, count: k + 1, coefficients: &h, scratch: &h2)
                let wNorm = norm(w)
                h[k + 1] = wNorm
                if wNorm > 0 {
                    let inverse = 1 / wNorm
                    basis.withUnsafeMutableBufferPointer { v in
                        for i in 0..<n { v[(k + 1) * n + i] = w[i] * inverse }
                    }
                }
                // Apply the previous rotations to the new column, then make a new one.
                for i in 0..<k {
                    let t = cosines[i] * h[i] + sines[i] * h[i + 1]
                    h[i + 1] = -sines[i] * h[i] + cosines[i] * h[i + 1]
                    h[i] = t
                }
                let r = hypot(h[k], h[k + 1])
                cosines[k] = r > 0 ? h[k] / r : 1
                sines[k] = r > 0 ? h[k + 1] / r : 0
                h[k] = r
                h[k + 1] = 0
                g[k + 1] = -sines[k] * g[k]
                g[k] = cosines[k] * g[k]
                for i in 0...k { hessenberg[i + k * (m + 1)] = h[i] }
                k += 1
                if abs(g[k]) <= tolerance * bNorm || wNorm == 0 { break }
            }
            // y = H⁻¹ g (upper triangular k × k), x += M⁻¹ V y.
            var y = [Double](repeating: 0, count: k)
            for i in stride(from: k - 1, through: 0, by: -1) {
                var s = g[i]
                for j in (i + 1)..<k { s -= hessenberg[i + j * (m + 1)] * y[j] }
                y[i] = s / hessenberg[i + i * (m + 1)]
            }
            var combination = [Double](repeating: 0, count: n)
            basis.withUnsafeBufferPointer { v in
                cblas_dgemv(CblasRowMajor, CblasTrans, Int32(k), Int32(n), 1, v.baseAddress, Int32(n), y, 1, 0, &combination, 1)
            }
            let correction = preconditioner.apply(combination)
            for i in 0..<n { x[i] += correction[i] }
            residual = subtract(b, a.multiply(x))
            beta = norm(residual)
            stats.relativeResidual = beta / bNorm
            if stats.relativeResidual > tolerance { stats.restarts += 1 }
        }
        stats.converged = stats.relativeResidual <= tolerance
        stats.seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) * 1e-9
        return (x, stats)
    }

    private func norm(_ v: [Double]) -> Double { cblas_dnrm2(Int32(v.count), v, 1) }

    private func subtract(_ a: [Double], _ b: [Double]) -> [Double] {
        var out = a
        for i in out.indices { out[i] -= b[i] }
        return out
    }
}
