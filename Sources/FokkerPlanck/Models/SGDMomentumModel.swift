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
    /// `noise = "state-dependent"`: the least-squares gradient noise of Gaussian data,
    /// Σ(θ) = Σ + H e eᵀ H + (eᵀ H e) H with e = θ − μ (see `noiseCovariance(at:)`).
    public var stateDependentNoise = false
    /// `modified_equation = true`: the heavy ball's modified equation (`HeavyBallModifiedEquation`)
    /// on the midpoint θ̄ = (θ_k + θ_{k−1})/2 and v = (θ_k − θ_{k−1})/η, instead of Kunin's model.
    public var modifiedEquation = false
    /// `fourth_moment`: the data's E[x_i x_j x_k x_l] (p² × p²) for the state-dependent noise;
    /// nil for Gaussian data (`LeastSquaresNoise`).
    public var fourthMoment: Matrix? = nil

    /// The least-squares gradient noise Σ(θ) = Σ + Q[e, e] of these data.
    public var leastSquaresNoise: LeastSquaresNoise { LeastSquaresNoise(hessian: hessian, atMinimum: gradientNoise, fourthMoment: fourthMoment) }

    /// Kunin's closed forms (`KuninReference`) describe the solved model: constant noise, Kunin's
    /// continuous equation.
    public var kuninClosedFormsHold: Bool { !stateDependentNoise && !modifiedEquation }

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

    /// The per-example gradient covariance at θ. For least squares, g = x(xᵀe − ε) with e = θ − μ;
    /// with Gaussian inputs x ~ N(0, H) Isserlis' theorem gives E[x xᵀ e eᵀ x xᵀ] = 2 H e eᵀ H +
    /// (eᵀHe) H, so Cov g = Σ + H e eᵀ H + (eᵀ H e) H, Σ = s²H the covariance at the minimum (the
    /// mechanism of Meng et al.'s power law). Constant Σ unless `stateDependentNoise`.
    public func noiseCovariance(at theta: [Double]) -> Matrix {
        guard stateDependentNoise else { return gradientNoise }
        return leastSquaresNoise.covariance(at: zip(theta, minimum).map { $0 - $1 })
    }

    /// The phase-space model with the state-dependent noise: Kunin's drift, and
    /// D_v(θ) = 2Σ(θ)/(η S (1+β)²) as expressions of the θ axes (`names`). D_v depends on θ and
    /// acts on v only, so the Itô, Stratonovich and isothermal readings coincide.
    public func stateDependentModel(names: [String], temperature: Double = 1) -> GeneralModel {
        let linear = linearModel(temperature: temperature)
        let d = 2 * p
        let z: [Formula] = (0..<d).map { .subtract(.variable($0, names[$0]), .number(linear.center[$0])) }
        let drift: [Formula] = (0..<d).map { i in
            (0..<d).reduce(Formula.number(0)) { s, j in linear.driftMatrix[i, j] == 0 ? s : .sum(s, .product(.number(-linear.driftMatrix[i, j]), z[j])) }
        }
        let e: [Formula] = (0..<p).map { minimum[$0] == 0 ? .variable($0, names[$0]) : .subtract(.variable($0, names[$0]), .number(minimum[$0])) }
        let scale = 2 / (learningRate * batchSize * (1 + momentum) * (1 + momentum))
        let sigma = leastSquaresNoise.formulas(e)
        var diffusion = [Formula](repeating: .number(0), count: d * d)
        for i in 0..<p { for j in 0..<p {
            diffusion[(p + i) * d + p + j] = .product(.number(scale), sigma[i * p + j])
        } }
        return GeneralModel(drift: drift, diffusion: diffusion, temperature: temperature,
                            velocityAxes: Dictionary(uniqueKeysWithValues: (0..<p).map { ($0, p + $0) }))
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
