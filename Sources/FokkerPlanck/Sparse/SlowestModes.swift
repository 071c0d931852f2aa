import Foundation

/// The eigenvalues of A = M⁻¹L (a Galerkin method's M dc/dt = L c; M = I when nil) nearest a
/// shift σ, by shift-and-invert Arnoldi: the Krylov basis of Z = (L − σM)⁻¹M, whose largest
/// eigenvalues θ are A's nearest σ (λ = σ + 1/θ), with one LU of L − σM. The first client is
/// the evolution's check for a growing discrete mode; the next are the relaxation spectrum and
/// escape rates (the slowest modes are these), through the same `LinearSystem` seam.
///
/// Each Ritz value comes with the size of its error in λ: the Arnoldi residual |h_{k+1,k}| |y_k| of
/// its Ritz vector y, over |θ|² (dλ = −dθ/θ²) — a posteriori, so an unconverged value says so.
public enum SlowestModes {
    public struct Mode: Sendable {
        public let re: Double
        public let im: Double
        /// The Ritz value's error estimate in λ.
        public let error: Double
    }

    /// Up to `vectors` Ritz values (fewer when the Krylov space is exhausted: then they are
    /// exact), nearest σ first.
    public static func nearest(_ shift: Double, generator: SparseMatrix, mass: SparseMatrix?,
                               start: [Double], vectors: Int = 30) throws -> [Mode] {
        let n = generator.rows
        precondition(start.count == n && n > 0)
        let shifted = shift == 0 ? generator : generator.combined(1, mass ?? identity(n), -shift)
        let system = try DirectLinearSystem(shifted, ordering: .automatic, dimension: 1, refine: false)
        func apply(_ v: [Double]) throws -> [Double] { try system.solve(mass?.multiply(v) ?? v) }
        func norm(_ v: [Double]) -> Double { v.reduce(0) { $0 + $1 * $1 }.squareRoot() }
        let k = min(vectors, n)
        var basis: [[Double]] = []
        var h = Matrix(rows: k + 1, columns: k)
        let beta = norm(start)
        guard beta > 0, beta.isFinite else { return [] }
        basis.append(start.map { $0 / beta })
        var size = k
        for j in 0..<k {
            var w = try apply(basis[j])
            // Modified Gram–Schmidt, twice (the second pass restores orthogonality lost to
            // cancellation; the coefficients add).
            for _ in 0..<2 {
                for i in 0...j {
                    var dot = 0.0
                    for t in 0..<n { dot += basis[i][t] * w[t] }
                    h[i, j] += dot
                    for t in 0..<n { w[t] -= dot * basis[i][t] }
                }
            }
            let next = norm(w)
            h[j + 1, j] = next
            guard next.isFinite else { throw FokkerPlanckError.solverFailed("the shift-and-invert Arnoldi iteration met a non-finite value") }
            // An invariant subspace: the Ritz values are eigenvalues.
            if next <= 1e-14 * abs(h[j, j]) || j == n - 1 { size = j + 1; break }
            basis.append(w.map { $0 / next })
        }
        let square = Matrix(rows: size, columns: size, elements: (0..<size).flatMap { i in (0..<size).map { h[i, $0] } })
        let (values, vectors) = try square.eigen()
        let last = h[size, size - 1]
        var modes: [Mode] = []
        var j = 0
        while j < size {
            let (re, im) = values[j]
            let tail = im == 0 ? abs(vectors[size - 1, j]) : hypot(vectors[size - 1, j], vectors[size - 1, j + 1])
            let magnitude = re * re + im * im
            if magnitude > 0 {
                // λ = σ + 1/θ, 1/θ = θ̄/|θ|².
                let error = abs(last) * tail / magnitude
                modes.append(Mode(re: shift + re / magnitude, im: -im / magnitude, error: error))
                if im != 0 { modes.append(Mode(re: shift + re / magnitude, im: im / magnitude, error: error)) }
            }
            j += im == 0 ? 1 : 2
        }
        return modes.sorted { hypot($0.re - shift, $0.im) < hypot($1.re - shift, $1.im) }
    }

    /// Every eigenvalue of M⁻¹L, densely (M⁻¹L by LU, then LAPACK's dgeev): for small operators,
    /// where a Krylov space of a few tens of vectors can miss a mode — a strongly rotating drift puts
    /// growing eigenvalues far up the imaginary axis (review: 12 of them at 1.8 ± 11i, none among the
    /// 30 Ritz values nearest the shift). `error` is the round-off of a backward-stable eigensolve,
    /// 64 n ε ‖M⁻¹L‖_F (for a non-normal matrix the eigenvalues can move more; the check that uses
    /// this asks for growth far above it).
    public static func all(generator: SparseMatrix, mass: SparseMatrix?) throws -> [Mode] {
        let n = generator.rows
        func dense(_ a: SparseMatrix) -> Matrix {
            var m = Matrix(rows: n, columns: n)
            for j in 0..<n { for p in a.columnStarts[j]..<a.columnStarts[j + 1] { m[a.rowIndices[p], j] += a.values[p] } }
            return m
        }
        let a = try mass.map { try dense($0).solve(dense(generator)) } ?? dense(generator)
        let norm = a.elements.reduce(0) { $0 + $1 * $1 }.squareRoot()
        let error = 64 * Double(n) * Double.ulpOfOne * norm
        return try a.eigenvalues().map { Mode(re: $0.re, im: $0.im, error: error) }
    }

    private static func identity(_ n: Int) -> SparseMatrix {
        var builder = SparseRowBuilder(rows: n, columns: n, estimatedNonzeros: n)
        for i in 0..<n { builder.add(column: i, 1); builder.endRow() }
        return builder.build()
    }
}
