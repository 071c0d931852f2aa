import Foundation

/// Closed forms of SGD with momentum on linear regression (Kunin et al.; THEORY §3).
///
/// Stationary covariance of z = (θ − μ, v) is [[P, X], [Xᵀ, R]] with
///
/// * in the eigenbasis of H (h_i = eigenvalues of H + λI, k_i = 2h_i/(η(1+β)), Σ̃ = UᵀΣU):
///   P̃_ij = 2η(1−β) Σ̃_ij / { S [2(1−β)²(h_i + h_j) + (η(1+β)/2)(h_i − h_j)²] },
///   X̃_ij = E[θ_i v_j] = P̃_ij (k_i − k_j)/(2Γ),  R̃_ij = P̃_ij (k_i + k_j)/2;
/// * when Σ commutes with H (Σ = σ²H): P = η/(2S(1−β)) Σ (H+λI)⁻¹, R = Σ/(S(1−β²)), X = 0, and with
///   λ = 0 the position spread P = ησ²/(2S(1−β)) I is isotropic whatever H is;
/// * modified loss (commuting, Σ = σ²H): ρ ∝ exp(−Ψ/κ), κ = σ²/(S(1−β²)),
///   Ψ = (1/(η(1+β))) (θ−μ)ᵀ(I + λH⁻¹)(θ−μ) + ½ vᵀH⁻¹v;
/// * phase-space current (commuting): J/ρ = (v, −K(θ−μ)), rotation at ω_i = sqrt(eig K);
/// * exact stationary variance of the discrete heavy ball per mode (Σ = σ²H, λ = 0):
///   η s²(1+β) / [h(1−β)(2(1+β) − ηh)], s² = σ²h/S — its ηh → 0 limit is the continuous P.
public struct KuninReference: Sendable {
    public let parameters: SGDMomentumParameters
    /// Eigenvalues of H + λI (ascending) and the eigenvectors (columns of U).
    public let curvatures: [Double]
    public let eigenvectors: Matrix
    public let positionCovariance: Matrix
    public let crossCovariance: Matrix
    public let velocityCovariance: Matrix

    public init(_ parameters: SGDMomentumParameters) throws {
        self.parameters = parameters
        let p = parameters.parameterCount
        let shifted = parameters.hessian + parameters.weightDecay * Matrix.identity(p)
        let (h, u) = try shifted.symmetricEigen()
        curvatures = h
        eigenvectors = u
        let eta = parameters.learningRate, beta = parameters.momentum, s = parameters.batchSize
        let gamma = parameters.friction
        let sigma = u.transposed * parameters.gradientNoise * u
        let k = h.map { 2 * $0 / (eta * (1 + beta)) }
        var pt = Matrix(rows: p, columns: p), xt = Matrix(rows: p, columns: p), rt = Matrix(rows: p, columns: p)
        for i in 0..<p {
            for j in 0..<p {
                let denominator = s * (2 * (1 - beta) * (1 - beta) * (h[i] + h[j]) + eta * (1 + beta) / 2 * pow(h[i] - h[j], 2))
                pt[i, j] = 2 * eta * (1 - beta) * sigma[i, j] / denominator
                xt[i, j] = pt[i, j] * (k[i] - k[j]) / (2 * gamma)
                rt[i, j] = pt[i, j] * (k[i] + k[j]) / 2
            }
        }
        positionCovariance = u * pt * u.transposed
        crossCovariance = u * xt * u.transposed
        velocityCovariance = u * rt * u.transposed
    }

    /// The full stationary covariance of (θ − μ, v), 2p×2p.
    public var covariance: Matrix {
        let p = parameters.parameterCount
        var c = Matrix(rows: 2 * p, columns: 2 * p)
        for i in 0..<p { for j in 0..<p {
            c[i, j] = positionCovariance[i, j]
            c[i, p + j] = crossCovariance[i, j]
            c[p + j, i] = crossCovariance[i, j]
            c[p + i, p + j] = velocityCovariance[i, j]
        } }
        return c
    }

    /// κ = σ²/(S(1−β²)) for Σ = σ²H.
    public static func kappa(noiseScale sigma2: Double, batchSize s: Double, momentum beta: Double) -> Double {
        sigma2 / (s * (1 - beta * beta))
    }

    /// Ψ(θ, v) = (1/(η(1+β))) (θ−μ_λ)ᵀ(I + λH⁻¹)(θ−μ_λ) + ½ vᵀH⁻¹v (commuting case), μ_λ the
    /// heavy ball's fixed point.
    public func modifiedLoss(theta: [Double], velocity v: [Double]) throws -> Double {
        let p = parameters.parameterCount
        let hInverse = try parameters.hessian.inverse()
        let offset = zip(theta, parameters.fixedPoint).map { $0 - $1 }
        let metric = Matrix.identity(p) + parameters.weightDecay * hInverse
        return metric.quadraticForm(offset) / (parameters.learningRate * (1 + parameters.momentum))
            + 0.5 * hInverse.quadraticForm(v)
    }

    /// Angular frequencies of the phase-space rotation, sqrt(eig K), ascending.
    public var rotationFrequencies: [Double] {
        curvatures.map { (2 * $0 / (parameters.learningRate * (1 + parameters.momentum))).squareRoot() }
    }

    /// Exact stationary variance of the discrete heavy ball along an eigenmode of curvature h,
    /// for Σ = σ²H and λ = 0: η s²(1+β) / [h(1−β)(2(1+β) − ηh)], s² = σ²h/S.
    public static func discreteHeavyBallVariance(curvature h: Double, noiseScale sigma2: Double, learningRate eta: Double,
                                                 momentum beta: Double, batchSize s: Double) -> Double {
        let s2 = sigma2 * h / s
        return eta * s2 * (1 + beta) / (h * (1 - beta) * (2 * (1 + beta) - eta * h))
    }
}
