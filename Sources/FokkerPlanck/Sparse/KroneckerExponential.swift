import CLapack
import Foundation

/// exp(τL) ρ exactly for a generator that is a Kronecker sum of 1-d operators on a grid,
/// L = L₀ ⊕ L₁ ⊕ … (L acts on axis k through L_k alone): then exp(τL) = exp(τL₀) ⊗ exp(τL₁) ⊗ …,
/// and a frame costs one dense n_k × n_k product along each axis instead of a Krylov basis.
///
/// Finite volumes give such an L whenever the drift along each axis depends on that coordinate
/// alone and D is diagonal and constant — every axis-aligned linear or isotropic problem, and
/// every problem fplanck solves. The structure is read off the assembled matrix itself (not
/// assumed from the model): off-diagonal entries must couple cells that differ along one axis
/// only, with values independent of the other indices, and the diagonal must split as Σ_k d_k(i_k);
/// L is compared with ⊕ L_k on two pseudo-random vectors to 64 ε ‖L‖∞, or the Krylov method is
/// used. Each factor is a dense exponential (Padé, scaling and squaring), so axes are limited to
/// `maximumAxisCells`.
public struct KroneckerExponential: Sendable {
    /// Cells per axis beyond which the dense factors cost more than Krylov (a 512² Padé exponential
    /// takes ~0.5 s here).
    public static let maximumAxisCells = 512

    public let shape: [Int]
    public let time: Double
    /// exp(τ L_k), row-major n_k × n_k.
    let factors: [Matrix]

    /// nil when L is not a Kronecker sum on `shape` (or an axis is too long for dense factors).
    public init?(generator: SparseMatrix, shape: [Int], time: Double) throws {
        guard shape.allSatisfy({ $0 <= Self.maximumAxisCells }), let parts = Self.split(generator, shape: shape) else { return nil }
        self.shape = shape
        self.time = time
        factors = try parts.map { part in
            var factor = try (time * part).exponential()
            // An axis without outflow conserves mass: exp(τL_k) has unit column sums exactly, but
            // each of the Padé squarings doubles their round-off (4e-9 after 2^25 at τ‖L‖ = 1e7);
            // restoring them keeps the mass to round-off over any frame length.
            let n = part.rows
            let conserving = (0..<n).allSatisfy { i in abs((0..<n).reduce(0) { $0 + part[$1, i] }) <= 64 * Double.ulpOfOne * abs(part[i, i]) }
            if conserving {
                for i in 0..<n {
                    let sum = (0..<n).reduce(0) { $0 + factor[$1, i] }
                    guard sum > 0, sum.isFinite else { continue }
                    for r in 0..<n { factor[r, i] /= sum }
                }
            }
            return factor
        }
    }

    /// The 1-d operators L_k with L = ⊕ L_k, or nil.
    static func split(_ l: SparseMatrix, shape: [Int]) -> [Matrix]? {
        let d = shape.count
        let n = shape.reduce(1, *)
        guard l.rows == n, l.columns == n else { return nil }
        var strides = [Int](repeating: 1, count: d)
        for k in stride(from: d - 2, through: 0, by: -1) { strides[k] = strides[k + 1] * shape[k + 1] }
        var parts = shape.map { Matrix(rows: $0, columns: $0) }
        var seen = shape.map { [Bool](repeating: false, count: $0 * $0) }
        var diagonal = [Double](repeating: 0, count: n)
        let tolerance = 64 * Double.ulpOfOne * max(l.infinityNorm, .leastNormalMagnitude)
        for c in 0..<n {
            for p in l.columnStarts[c]..<l.columnStarts[c + 1] {
                let r = l.rowIndices[p], value = l.values[p]
                if r == c { diagonal[c] = value; continue }
                // The one axis along which r and c differ.
                var axis = -1
                for k in 0..<d where (r / strides[k]) % shape[k] != (c / strides[k]) % shape[k] {
                    guard axis < 0 else { return nil }
                    axis = k
                }
                let i = (r / strides[axis]) % shape[axis], j = (c / strides[axis]) % shape[axis]
                let slot = i * shape[axis] + j
                if seen[axis][slot] {
                    guard abs(parts[axis].elements[slot] - value) <= tolerance else { return nil }
                } else {
                    parts[axis].elements[slot] = value
                    seen[axis][slot] = true
                }
            }
        }
        // The diagonal, split so that every factor stays bounded: each L_k gets the conservative
        // diagonal −(its column's off-diagonal sum), so that exp(τL_k) keeps mass along axis k;
        // what is left, e(i) = diag(i) − Σ_k c_k(i_k), is the outflow of absorbing walls (0
        // elsewhere), split at the middle cell p as e_k(i) = e(p with i on axis k) − (d−1)/d e(p).
        // (Splitting the diagonal at a corner instead put a wall cell's full rate, with opposite
        // signs, on two factors: e^{±τ g} overflows once τ|g| > 709.)
        var conservative = [[Double]]()
        for k in 0..<d {
            var column = [Double](repeating: 0, count: shape[k])
            for i in 0..<shape[k] { for r in 0..<shape[k] where r != i { column[i] -= parts[k][r, i] } }
            conservative.append(column)
        }
        func outflow(_ c: Int) -> Double {
            var e = diagonal[c]
            for k in 0..<d { e -= conservative[k][(c / strides[k]) % shape[k]] }
            return e
        }
        let middle = (0..<d).reduce(0) { $0 + (shape[$1] / 2) * strides[$1] }
        let base = outflow(middle) * Double(d - 1) / Double(d)
        for k in 0..<d {
            let others = middle - (shape[k] / 2) * strides[k]
            for i in 0..<shape[k] {
                parts[k][i, i] = conservative[k][i] + outflow(others + i * strides[k]) - base
            }
        }
        // Entries missing in some rows, or a diagonal that does not split, show up here.
        var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
        for _ in 0..<2 {
            let x = (0..<n).map { _ -> Double in
                seed = seed &* 6364136223846793005 &+ 1442695040888963407
                return Double(seed >> 11) / Double(1 << 53) - 0.5
            }
            let exact = l.multiply(x)
            var separable = [Double](repeating: 0, count: n)
            for k in 0..<d {
                let term = along(k, parts[k], shape: shape, x)
                for i in 0..<n { separable[i] += term[i] }
            }
            let worst = zip(exact, separable).reduce(0) { max($0, abs($1.0 - $1.1)) }
            guard worst <= tolerance else { return nil }
        }
        return parts
    }

    /// exp(τL) v = (⊗_k exp(τL_k)) v, one axis after the other.
    public func apply(_ v: [Double]) -> [Double] {
        var w = v
        for k in 0..<shape.count { w = Self.along(k, factors[k], shape: shape, w) }
        return w
    }

    /// (I ⊗ … ⊗ M ⊗ … ⊗ I) v with M on axis k: for each block of the axes before k, the n_k × inner
    /// slab X becomes M X (one dgemm); on the last axis, all rows at once as X Mᵀ.
    static func along(_ k: Int, _ m: Matrix, shape: [Int], _ v: [Double]) -> [Double] {
        let nk = shape[k]
        let outer = shape[..<k].reduce(1, *), inner = shape[(k + 1)...].reduce(1, *)
        var w = [Double](repeating: 0, count: v.count)
        v.withUnsafeBufferPointer { x in
            w.withUnsafeMutableBufferPointer { y in
                if inner == 1 {
                    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(outer), Int32(nk), Int32(nk), 1,
                                x.baseAddress, Int32(nk), m.elements, Int32(nk), 0, y.baseAddress, Int32(nk))
                    return
                }
                for o in 0..<outer {
                    let offset = o * nk * inner
                    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(nk), Int32(inner), Int32(nk), 1,
                                m.elements, Int32(nk), x.baseAddress! + offset, Int32(inner), 0, y.baseAddress! + offset, Int32(inner))
                }
            }
        }
        return w
    }
}
