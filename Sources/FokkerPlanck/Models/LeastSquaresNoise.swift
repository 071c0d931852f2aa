import Foundation

/// The per-example gradient covariance of least squares, Σ(θ) = Σ + Q[e, e] with e = θ − μ.
///
/// Per example g = x(xᵀe − ε) with E[x xᵀ] = H and E[ε | x] = 0, so
/// Cov g = E[ε² x xᵀ] + Cov(x (xᵀe)) = Σ + Q[e, e], Q_ijkl = T_ijkl − H_ik H_jl (symmetrised in k, l),
/// T_ijkl = E[x_i x_j x_k x_l] the data's fourth moments. Gaussian inputs (the default) have
/// T = H⊗H + its two index permutations (Isserlis), so Q[e, e] = H e eᵀ H + (eᵀHe) H; other data
/// give T (`fourth_moment`, a p² × p² matrix with rows (i, j) and columns (k, l), row-major pairs).
public struct LeastSquaresNoise: Sendable, Equatable {
    /// Σ, the covariance at the minimum (p × p).
    public let atMinimum: Matrix
    /// Q as p⁴ numbers, index ((i p + j) p + k) p + l.
    public let quadratic: [Double]
    public let p: Int
    /// Whether T is Isserlis' (Gaussian data).
    public let gaussian: Bool

    public init(hessian h: Matrix, atMinimum sigma: Matrix, fourthMoment: Matrix? = nil) {
        let p = h.rows
        self.p = p
        atMinimum = sigma
        gaussian = fourthMoment == nil
        var q = [Double](repeating: 0, count: p * p * p * p)
        for i in 0..<p { for j in 0..<p { for k in 0..<p { for l in 0..<p {
            let t = fourthMoment.map { $0[i * p + j, k * p + l] } ?? (h[i, j] * h[k, l] + h[i, k] * h[j, l] + h[i, l] * h[j, k])
            q[((i * p + j) * p + k) * p + l] = t - 0.5 * (h[i, k] * h[j, l] + h[i, l] * h[j, k])
        } } } }
        quadratic = q
    }

    func q(_ i: Int, _ j: Int, _ k: Int, _ l: Int) -> Double { quadratic[((i * p + j) * p + k) * p + l] }

    /// Σ(θ) for e = θ − μ.
    public func covariance(at e: [Double]) -> Matrix {
        var result = atMinimum
        for i in 0..<p { for j in 0..<p { for k in 0..<p { for l in 0..<p { result[i, j] += q(i, j, k, l) * e[k] * e[l] } } } }
        return result
    }

    /// E[Σ(θ)] = Σ + Q : W for W = E[e eᵀ].
    public func expected(secondMoment w: Matrix) -> Matrix {
        var result = atMinimum
        for i in 0..<p { for j in 0..<p { for k in 0..<p { for l in 0..<p { result[i, j] += q(i, j, k, l) * w[k, l] } } } }
        return result
    }

    /// Σ(θ) as p × p expressions (row-major) of the expressions e.
    func formulas(_ e: [Formula]) -> [Formula] {
        var result: [Formula] = []
        for i in 0..<p { for j in 0..<p {
            var entry = Formula.number(atMinimum[i, j])
            for k in 0..<p { for l in k..<p {
                let c = k == l ? q(i, j, k, k) : q(i, j, k, l) + q(i, j, l, k)
                if c != 0 { entry = .sum(entry, .product(.number(c), .product(e[k], e[l]))) }
            } }
            result.append(entry)
        } }
        return result
    }

    /// Why T cannot be a fourth-moment tensor of data with second moments H, or nil: it must be
    /// symmetric under every permutation of its indices, and Cov(x_i x_k, x_j x_l) = T_ikjl − H_ik H_jl
    /// positive semi-definite as a p² × p² matrix (else Σ(θ) turns indefinite somewhere).
    static func problem(fourthMoment t: Matrix, hessian h: Matrix) -> String? {
        let p = h.rows
        guard t.rows == p * p, t.columns == p * p else { return "expected a \(p * p)×\(p * p) matrix (rows (i, j), columns (k, l)), found \(t.rows)×\(t.columns)" }
        guard t.elements.allSatisfy(\.isFinite) else { return "its entries must be finite" }
        func entry(_ i: Int, _ j: Int, _ k: Int, _ l: Int) -> Double { t[i * p + j, k * p + l] }
        let scale = max(t.maxAbs, 1e-300)
        for i in 0..<p { for j in 0..<p { for k in 0..<p { for l in 0..<p {
            let value = entry(i, j, k, l)
            for other in [entry(j, i, k, l), entry(i, j, l, k), entry(k, l, i, j), entry(i, k, j, l)] where abs(other - value) > 1e-12 * scale {
                return "E[x_i x_j x_k x_l] is symmetric in its four indices, but entry (\(i + 1)\(j + 1), \(k + 1)\(l + 1)) = \(value) differs from a permutation's \(other)"
            }
        } } } }
        var covariance = Matrix(rows: p * p, columns: p * p)
        for i in 0..<p { for k in 0..<p { for j in 0..<p { for l in 0..<p {
            covariance[i * p + k, j * p + l] = entry(i, k, j, l) - h[i, k] * h[j, l]
        } } } }
        let smallest = (try? covariance.symmetricEigenvalues().min()) ?? -.infinity
        if !(smallest >= -1e-12 * max(covariance.maxAbs, 1e-300)) {
            return "Cov(x_i x_k, x_j x_l) = T_ikjl − H_ik H_jl must be positive semi-definite (the least eigenvalue is \(smallest)): no data with E[xxᵀ] = H has these fourth moments (Gaussian data: E[x⁴] = 3h²)"
        }
        return nil
    }
}
