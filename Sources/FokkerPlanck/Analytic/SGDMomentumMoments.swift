import Foundation

/// The stationary mean and covariance of Kunin's SGD-with-momentum model with the state-dependent
/// least-squares noise D_v(θ) = c (Σ + H e eᵀ H + (eᵀHe) H), c = 2/(η S (1+β)²), e = θ − μ.
///
/// The drift is linear, so E[z] relaxes to the fixed point (μ_λ, 0) whatever the noise; and D is
/// quadratic in θ, so the second moments close: with C the covariance and M = E[e eᵀ] = C_θθ + δδᵀ
/// (δ = μ_λ − μ), the stationary C solves the Lyapunov equation A C + C Aᵀ = 2 E[D], whose right
/// side depends linearly on C through E[D_v] = c (Σ + H M H + tr(H M) H). It is solved by the fixed
/// point C ← Lyap(A, 2E[D](C)), which contracts exactly when the second moments exist (the noise
/// growth is weaker than the restoring drift; otherwise the stationary law's tails are too heavy
/// for a variance, and this throws).
public struct SGDMomentumMoments: Sendable {
    public let mean: [Double]
    public let covariance: Matrix

    public init(_ parameters: SGDMomentumParameters) throws {
        let p = parameters.parameterCount, d = 2 * p
        let linear = parameters.linearModel()
        let noise = parameters.leastSquaresNoise
        let delta = zip(parameters.fixedPoint, parameters.minimum).map { $0 - $1 }
        let scale = 2 / (parameters.learningRate * parameters.batchSize * (1 + parameters.momentum) * (1 + parameters.momentum))
        func forcing(_ c: Matrix) -> Matrix {
            var m = Matrix(rows: p, columns: p)
            for i in 0..<p { for j in 0..<p { m[i, j] = c[i, j] + delta[i] * delta[j] } }
            let sigma = noise.expected(secondMoment: m)
            var result = Matrix(rows: d, columns: d)
            for i in 0..<p { for j in 0..<p { result[p + i, p + j] = 2 * scale * sigma[i, j] } }
            return result
        }
        try self.init(drift: linear.driftMatrix, centre: linear.center, forcing: forcing)
    }

    /// The heavy ball's modified equation (`HeavyBallModifiedEquation`): the same closure with
    /// E[D_v] from its quadratic forms (constant when the noise is constant).
    public init(_ equation: HeavyBallModifiedEquation) throws {
        let p = equation.parameters.parameterCount, d = 2 * p
        let zero = [Double](repeating: 0, count: d)
        func forcing(_ c: Matrix) -> Matrix {
            let dv = equation.expectedVelocityDiffusion(mean: zero, covariance: c)
            var result = Matrix(rows: d, columns: d)
            for i in 0..<p { for j in 0..<p { result[p + i, p + j] = 2 * dv[i, j] } }
            return result
        }
        try self.init(drift: equation.driftMatrix, centre: equation.centre, forcing: forcing)
    }

    private init(drift: Matrix, centre: [Double], forcing: (Matrix) -> Matrix) throws {
        let d = drift.rows
        var c = try Matrix.solveLyapunov(drift, forcing(Matrix(rows: d, columns: d)))
        for _ in 0..<500 {
            let next = try Matrix.solveLyapunov(drift, forcing(c))
            let change = (next - c).maxAbs
            c = next
            guard c.elements.allSatisfy(\.isFinite), c.maxAbs < 1e100 else { break }
            if change <= 1e-15 * c.maxAbs {
                mean = centre
                covariance = c
                return
            }
        }
        throw FokkerPlanckError.solverFailed("the second moments of the state-dependent SGD model do not settle: the noise grows too fast with θ − μ for a stationary variance to exist")
    }
}
