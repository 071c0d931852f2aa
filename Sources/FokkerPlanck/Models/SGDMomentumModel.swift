import Foundation

/// SGD with momentum on linear regression as an underdamped Langevin equation (Kunin et al.,
/// Neural Computation 2023; THEORY §3), problem-file `type = "sgd-momentum"`.
///
/// Heavy ball θ_{k+1} = θ_k − η(g + λθ_k) + β(θ_k − θ_{k−1}), gradient-noise covariance Σ/S, time
/// t = ηk. With z = (θ − μ, v) on the axes θ_1…θ_p, v_1…v_p (d = 2p) the continuous model is the
/// Ornstein–Uhlenbeck process
///
///     A = [[0, −I], [K, Γ I]],   K = 2(H + λI)/(η(1+β)),   Γ = 2(1−β)/(η(1+β)),
///     D = diag(0, D_v),          D_v = 2Σ/(η S (1+β)²),
///
/// with degenerate noise (none on θ). It is solved as a `LinearModel`; `KuninReference` holds the
/// closed forms.
public struct SGDMomentumParameters: Sendable, Equatable {
    /// H (p×p, symmetric positive definite).
    public let hessian: Matrix
    public let learningRate: Double
    public let momentum: Double
    public let batchSize: Double
    /// Σ (p×p, symmetric positive semi-definite).
    public let gradientNoise: Matrix
    public let weightDecay: Double
    /// μ, the minimum of the loss.
    public let minimum: [Double]

    public init(hessian: Matrix, learningRate: Double, momentum: Double, batchSize: Double,
                gradientNoise: Matrix, weightDecay: Double = 0, minimum: [Double]? = nil) {
        self.hessian = hessian
        self.learningRate = learningRate
        self.momentum = momentum
        self.batchSize = batchSize
        self.gradientNoise = gradientNoise
        self.weightDecay = weightDecay
        self.minimum = minimum ?? [Double](repeating: 0, count: hessian.rows)
    }

    /// p, the number of parameters.
    public var parameterCount: Int { hessian.rows }
    var p: Int { hessian.rows }
    /// η(1+β)/2, the time scale that recurs in K, Γ and D_v.
    var halfStep: Double { learningRate * (1 + momentum) / 2 }

    /// K = 2(H + λI)/(η(1+β)).
    public var stiffness: Matrix { (1 / halfStep) * (hessian + weightDecay * Matrix.identity(p)) }
    /// Γ = 2(1−β)/(η(1+β)).
    public var friction: Double { (1 - momentum) / halfStep }
    /// D_v = 2Σ/(η S (1+β)²).
    public var velocityDiffusion: Matrix {
        (2 / (learningRate * batchSize * (1 + momentum) * (1 + momentum))) * gradientNoise
    }

    /// μ_λ = (H + λI)⁻¹Hμ, the fixed point of the heavy ball with weight decay (the minimum of
    /// L + (λ/2)|θ|²; μ itself when λ = 0 or μ = 0; THEORY §3, corrected: it was centred at μ).
    public var fixedPoint: [Double] {
        guard weightDecay != 0, minimum.contains(where: { $0 != 0 }) else { return minimum }
        // H + λI is symmetric positive definite (H SPD, λ ≥ 0): the solve cannot fail.
        return (try? (hessian + weightDecay * Matrix.identity(p)).solve(hessian * minimum)) ?? minimum
    }

    /// The phase-space OU model: drift matrix A, diffusion diag(0, D_v), centre (μ_λ, 0).
    public func linearModel(temperature: Double = 1) -> LinearModel {
        let d = 2 * p
        var a = Matrix(rows: d, columns: d)
        var diffusion = Matrix(rows: d, columns: d)
        let k = stiffness, dv = velocityDiffusion
        for i in 0..<p {
            a[i, p + i] = -1
            a[p + i, p + i] = friction
            for j in 0..<p {
                a[p + i, j] = k[i, j]
                diffusion[p + i, p + j] = dv[i, j]
            }
        }
        return LinearModel(driftMatrix: a, diffusion: diffusion, center: fixedPoint + [Double](repeating: 0, count: p),
                           temperature: temperature,
                           velocityAxes: Dictionary(uniqueKeysWithValues: (0..<p).map { ($0, p + $0) }))
    }
}
