import Foundation

/// exp(t A) b for a sparse A, without forming exp(t A): the truncated Taylor series with
/// scaling of Al-Mohy & Higham, "Computing the action of the matrix exponential, with an
/// application to exponential integrators" (SIAM J. Sci. Comput. 33, 2011), Algorithm 3.2 — the
/// method of SciPy's `expm_multiply`, which fplanck's `propagate` calls.
///
/// exp(tA) = e^{tμ} (T_m(t(A − μI)/s))^s with μ = trace(A)/n (the shift that most reduces the
/// norm of a generator, whose diagonal is negative), the degree m and the number of sub-steps s
/// chosen to minimise the m·s matrix products under the backward-error bound
/// t‖A − μI‖₁ / s ≤ θ_m, and each series truncated early once two successive terms are below
/// `tolerance` relative to the sum. θ_m are the published values for the unit roundoff 2⁻⁵³
/// (Higham & Al-Mohy, Computing matrix functions, Table A.3; and the 2011 paper, Table 3.1). Only
/// the 1-norm bound is used, not the paper's sharper α_p estimates: that can only choose more
/// products, never fewer than the accuracy needs.
///
/// The products cost what one application of A costs (a sparse matrix–vector product), so for a
/// stiff generator the work grows with t‖A‖₁ — but there is no time-step error: a frame is
/// exp(τL) ρ to the tolerance.
public struct ExponentialAction: Sendable {
    public let matrix: SparseMatrix
    /// μ = trace(A) / n.
    public let shift: Double
    /// ‖A − μI‖₁ (largest column sum of magnitudes).
    public let shiftedNorm: Double
    /// Relative truncation tolerance of each series (default the unit roundoff 2⁻⁵³).
    public var tolerance = 0x1p-53

    /// (m, θ_m) for the unit roundoff 2⁻⁵³.
    static let theta: [(m: Int, theta: Double)] = [
        (1, 2.29e-16), (2, 2.58e-8), (3, 1.39e-5), (4, 3.40e-4), (5, 2.40e-3), (6, 9.07e-3), (7, 2.38e-2),
        (8, 5.00e-2), (9, 8.96e-2), (10, 1.44e-1), (11, 2.14e-1), (12, 3.00e-1), (13, 4.00e-1), (14, 5.14e-1),
        (15, 6.41e-1), (16, 7.81e-1), (17, 9.31e-1), (18, 1.09), (19, 1.26), (20, 1.44), (21, 1.62), (22, 1.82),
        (23, 2.01), (24, 2.22), (25, 2.43), (26, 2.64), (27, 2.86), (28, 3.08), (29, 3.31), (30, 3.54),
        (35, 4.7), (40, 6.0), (45, 7.2), (50, 8.5), (55, 9.9),
    ]

    public init(_ matrix: SparseMatrix) {
        precondition(matrix.rows == matrix.columns)
        self.matrix = matrix
        let n = matrix.rows
        var trace = 0.0
        var columnSums = [Double](repeating: 0, count: n)
        for j in 0..<n {
            for p in matrix.columnStarts[j]..<matrix.columnStarts[j + 1] {
                if matrix.rowIndices[p] == j { trace += matrix.values[p] }
            }
        }
        let mu = n > 0 ? trace / Double(n) : 0
        for j in 0..<n {
            var diagonalSeen = false
            for p in matrix.columnStarts[j]..<matrix.columnStarts[j + 1] {
                let i = matrix.rowIndices[p]
                var v = matrix.values[p]
                if i == j { v -= mu; diagonalSeen = true }
                columnSums[j] += abs(v)
            }
            if !diagonalSeen { columnSums[j] += abs(mu) }
        }
        shift = mu
        shiftedNorm = columnSums.max() ?? 0
    }

    /// The degree m and sub-steps s for time t: the fewest products m·s with t‖A − μI‖₁/s ≤ θ_m.
    public func parameters(time t: Double) -> (degree: Int, steps: Int) {
        let norm = abs(t) * shiftedNorm
        guard norm > 0 else { return (0, 1) }
        var best = (degree: 55, steps: Int.max), bestCost = Double.infinity
        for (m, theta) in Self.theta {
            let s = max(1, (norm / theta).rounded(.up))
            let cost = Double(m) * s
            if cost < bestCost { bestCost = cost; best = (m, Int(min(s, Double(Int.max / 64)))) }
        }
        return best
    }

    /// exp(t A) b, and the number of products with A it took.
    public func apply(_ b: [Double], time t: Double) -> (result: [Double], products: Int) {
        let (m, s) = parameters(time: t)
        guard m > 0 else { return (b, 0) }
        let n = b.count
        let eta = exp(t * shift / Double(s))
        var f = b, term = b
        var products = 0
        func normInf(_ x: [Double]) -> Double { x.reduce(0) { max($0, abs($1)) } }
        for _ in 0..<s {
            var previous = normInf(term)
            for k in 1...m {
                // term ← t/(s k) (A − μI) term
                let product = matrix.multiply(term)
                products += 1
                let factor = t / (Double(s) * Double(k))
                for i in 0..<n { term[i] = factor * (product[i] - shift * term[i]) }
                let current = normInf(term)
                for i in 0..<n { f[i] += term[i] }
                if previous + current <= tolerance * normInf(f) { break }
                previous = current
            }
            for i in 0..<n { f[i] *= eta }
            term = f
        }
        return (f, products)
    }
}
