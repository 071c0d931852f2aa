import Foundation

/// The heavy ball's modified equation: the continuous model (`sgd-momentum`, `modified_equation =
/// true`) whose flow over one step η reproduces the discrete heavy ball's mean exactly and its
/// second moments to the order the diffusion form allows (README, "Real SGD").
///
/// The state is the iterate pair read as a phase-space point, the midpoint θ̄ = (θ_k + θ_{k−1})/2
/// and the velocity v = (θ_k − θ_{k−1})/η, with z = (θ̄ − μ_λ, v). The heavy ball
/// θ_{k+1} = θ_k − η(g_k + λθ_k) + β(θ_k − θ_{k−1}) with g_k = H(θ_k − μ) + ξ_k, Cov ξ_k = Σ(θ_k)/S,
/// is then exactly the affine map z_{k+1} = M z_k + G ξ_k, with H_λ = H + λI,
///
///     M = [[I − ηH_λ/2, (η/2)((1+β)I − ηH_λ/2)], [−H_λ, βI − ηH_λ/2]],   G = −[(η/2)I; I],
///
/// and θ_k = θ̄ + (η/2)v: the gradient (and its noise) is evaluated ahead of the midpoint.
///
/// Drift: A = log(M)/η, the generator whose time-η flow is M. M's blocks are polynomials in H_λ,
/// so on each eigenvector of H_λ (eigenvalue h, x = ηh) M is 2×2 with det β and trace 1 + β − x, and
///
///     log M = (ln β/2) I + c(x) (M − ((1+β−x)/2) I),   c = ψ/(√β sin ψ),   cos ψ = (1+β−x)/(2√β)
///
/// (cosh/sinh when the mode is overdamped). To first order in ηH_λ this is Kunin's model with
/// c ≈ c₀ + c₁x, c₀ = ln(1/β)/(1−β) (Kunin's 2/(1+β) is its Padé form) and
/// c₁ = [(1+β) ln(1/β)/(1−β) − 2]/(1−β)² (→ 1/6 as β → 1): the stiffness seen by the mean grows by
/// ≈ ηH/(6(1+β)), and θ̄ gains a small drift of its own, ((ln β + (1−β)c)/(2η)) θ̄.
///
/// Diffusion: D = diag(0, D_v) with D_v = L(Σ), L the linear map that makes the stationary θ̄
/// covariance of the continuous model equal to the discrete heavy ball's for constant noise
/// (the exact discrete Lyapunov equation X = M X Mᵀ + G Σ Gᵀ/S); the other blocks then agree
/// closely but not exactly (measured, p = 1, β = 0.9: Var v 0.1 % low, and a θ̄–v correlation of
/// 0.2 / 0.42 / 0.7 % at ηh = 0.05 / 0.2 / 0.5, growing like √(ηh)).
/// A diffusion reproducing every block exactly would need a negative D_θθ: the heavy ball's
/// one-step noise is rank p, not the flow of a diffusion.
///
/// State-dependent noise: the heavy ball draws step k's noise at θ_k, the look-ahead point
/// θ̄ + (η/2)v of the state at the start of the step; a diffusion spreads it over the step while
/// the state moves on. So D_v(z) = L(Σ̄(z)) with Σ̄ the gradient covariance at the look-ahead
/// point of the state the flow came from, averaged over the step:
/// Σ̄(z) = ∫₀¹ Σ(μ + P e^{τηA}(z − c) + δ) dτ, P = [I, (η/2)I], δ = μ_λ − μ (Σ is quadratic, so Σ̄
/// is too: 12 Gauss–Legendre nodes integrate the entire τ-dependence to round-off). Evaluating at
/// P z instead leaves the transient covariance 4 % of the stationary variance away from the heavy
/// ball's when the mean starts 3 σ out (the mean rotates 0.46 rad per step at ηh = 0.2, so the
/// noise it sets varies within a step); averaged, 0.9 %. In the stationary state the two differ
/// by 1e-4 at S = 32, ηh = 0.2 (1.2 % at S = 8, ηh = 0.5, where the averaged one is the closer).
///
/// Range: the D_θθ a diffusion cannot have grows like (1−β)², so the match degrades as the
/// momentum falls — Var v low by 0.09 % at β = 0.9, 0.4 % at 0.8, 1.1 % at 0.7, 3.8 % at 0.5
/// (worse than Kunin's model there). `modelError()` measures it for the problem at hand, and
/// solve and evolve warn above 1 %.
public struct HeavyBallModifiedEquation: Sendable {
    public let parameters: SGDMomentumParameters
    /// A in the `LinearModel` convention: the drift is −A (z − centre).
    public let driftMatrix: Matrix
    /// M, the one-step map of z.
    public let stepMap: Matrix
    /// L as a matrix on the upper triangles (row-major, i ≤ j) of Σ and D_v.
    let noiseMap: Matrix
    /// State-dependent noise: D_v,rs(z) = ỹᵀ F_rs ỹ with ỹ = (z − c, 1), one (2p+1)² symmetric
    /// form per upper-triangle pair (r, s); empty for constant noise.
    let noiseForms: [Matrix]

    public init(_ parameters: SGDMomentumParameters) throws {
        self.parameters = parameters
        let p = parameters.parameterCount, d = 2 * p
        let eta = parameters.learningRate, beta = parameters.momentum
        guard beta > 0 else {
            throw FokkerPlanckError.badInput(file: nil, keyPath: "model.modified_equation", line: nil,
                                             message: "the modified equation needs momentum β > 0: at β = 0 the velocity is slaved to the gradient and the phase space has no continuous model (use the sgd model)")
        }
        let hLambda = parameters.hessian + parameters.weightDecay * Matrix.identity(p)
        let (values, vectors) = try hLambda.symmetricEigen()
        let limit = (1 + beta.squareRoot()) * (1 + beta.squareRoot())
        guard let largest = values.max(), eta * largest < limit else {
            throw FokkerPlanckError.badInput(file: nil, keyPath: "model.learning_rate", line: nil,
                message: "the modified equation needs ηh < (1 + √β)² = \(limit) for every eigenvalue h of H + λI, found ηh = \(eta * (values.max() ?? .nan)): beyond it the heavy ball overshoots every step (negative multipliers), which no continuous flow does")
        }
        // C = c(ηH_λ) as a matrix function.
        var c = Matrix(rows: p, columns: p)
        for k in 0..<p {
            let ck = Self.logFactor(x: eta * values[k], beta: beta)
            for i in 0..<p { for j in 0..<p { c[i, j] += ck * vectors[i, k] * vectors[j, k] } }
        }
        let identity = Matrix.identity(p)
        var m = Matrix(rows: d, columns: d)
        let mBlocks = [identity - (eta / 2) * hLambda, (eta / 2) * ((1 + beta) * identity - (eta / 2) * hLambda),
                       -1 * hLambda, beta * identity - (eta / 2) * hLambda]
        // log M / η, per block: (ln β/2) I + C (M − tr/2), with M − tr/2 = [[(1−β)/2 I, M_θv], [−H_λ, −(1−β)/2 I]].
        let lnBeta = Foundation.log(beta)
        let generator = [
            (1 / (2 * eta)) * (lnBeta * identity + (1 - beta) * c),
            (1 / eta) * (c * mBlocks[1]),
            (-1 / eta) * (c * hLambda),
            (1 / (2 * eta)) * (lnBeta * identity - (1 - beta) * c),
        ]
        var a = Matrix(rows: d, columns: d)
        for (b, (row, column)) in [(0, 0), (0, p), (p, 0), (p, p)].enumerated() {
            for i in 0..<p { for j in 0..<p {
                m[row + i, column + j] = mBlocks[b][i, j]
                a[row + i, column + j] = -generator[b][i, j]
            } }
        }
        stepMap = m
        driftMatrix = a
        noiseMap = try Self.noiseMap(stepMap: m, driftMatrix: a, p: p, eta: eta, batch: parameters.batchSize)
        noiseForms = parameters.stateDependentNoise ? try Self.noiseForms(parameters: parameters, driftMatrix: a, noiseMap: noiseMap) : []
    }

    /// The forms F_rs. With e_τ = B_τ ỹ, B_τ = [P e^{τηA}, δ] (p × (2p+1)), the step-averaged
    /// second moment W = Σ_q w_q e_q e_qᵀ has W_ab = ỹᵀ K_ab ỹ, K_ab = Σ_q w_q sym(b_qa b_qbᵀ);
    /// Σ̄ = Σ + Q : W (`LeastSquaresNoise`) is linear in W, and so is D_v = L(Σ̄).
    static func noiseForms(parameters: SGDMomentumParameters, driftMatrix a: Matrix, noiseMap: Matrix) throws -> [Matrix] {
        let p = parameters.parameterCount, d = 2 * p, n = d + 1, eta = parameters.learningRate
        let delta = zip(parameters.fixedPoint, parameters.minimum).map { $0 - $1 }
        let rule = LegendreAxis.gaussLegendre(12)
        let pairs = Self.pairs(p)
        // K_ab for every (a, b) (full p × p, symmetric in a, b).
        var k = [[Matrix]](repeating: [Matrix](repeating: Matrix(rows: n, columns: n), count: p), count: p)
        for (node, weight) in zip(rule.nodes, rule.weights) {
            let tau = (node + 1) / 2, w = weight / 2
            let flow = try ((tau * eta) * a).exponential()    // back along the flow of −A
            var b = Matrix(rows: p, columns: n)
            for i in 0..<p {
                for j in 0..<d { b[i, j] = flow[i, j] + eta / 2 * flow[p + i, j] }
                b[i, d] = delta[i]
            }
            for i in 0..<p { for j in 0..<p { for u in 0..<n { for v in 0..<n {
                k[i][j][u, v] += w * 0.5 * (b[i, u] * b[j, v] + b[j, u] * b[i, v])
            } } } }
        }
        // D_v = L(Σ) + Σ_ab W_ab L(H E_ab H + H_ab H), E_ab the unit matrix (full sum over a, b).
        func applyL(_ sigma: Matrix) -> [Double] {
            pairs.indices.map { row in pairs.enumerated().reduce(0.0) { $0 + noiseMap[row, $1.offset] * sigma[$1.element.0, $1.element.1] } }
        }
        var forms = [Matrix](repeating: Matrix(rows: n, columns: n), count: pairs.count)
        let constant = applyL(parameters.gradientNoise)
        for r in pairs.indices { forms[r][d, d] = constant[r] }
        let noise = parameters.leastSquaresNoise
        for i in 0..<p { for j in 0..<p {
            // The part of Σ̄ that W_ij multiplies: Q : E_ij (E_ij the unit matrix; W is symmetric,
            // so (i, j) and (j, i) pair up and Q's symmetrisation in k, l makes this exact).
            var unit = Matrix(rows: p, columns: p)
            unit[i, j] = 1
            let image = noise.expected(secondMoment: unit) - parameters.gradientNoise
            let coefficients = applyL(0.5 * (image + image.transposed))
            for r in pairs.indices where coefficients[r] != 0 { forms[r] = forms[r] + coefficients[r] * k[i][j] }
        } }
        return forms
    }

    /// c(x) = ψ/(√β sin ψ), cos ψ = (1+β−x)/(2√β) (ψ/(√β sinh ψ) with cosh ψ when that exceeds 1);
    /// the series 1 + u/3 + 2u²/15 in u = 1 − cos ψ near the critically damped point.
    static func logFactor(x: Double, beta: Double) -> Double {
        let root = beta.squareRoot()
        let s = (1 + beta - x) / (2 * root)
        let u = 1 - s
        if abs(u) < 1e-6 { return (1 + u / 3 + 2 * u * u / 15) / root }
        if s < 1 { return Foundation.acos(s) / (root * ((1 - s) * (1 + s)).squareRoot()) }
        return Foundation.acosh(s) / (root * ((s - 1) * (s + 1)).squareRoot())
    }

    /// The upper-triangle index pairs (i ≤ j) of a p×p symmetric matrix.
    static func pairs(_ p: Int) -> [(Int, Int)] { (0..<p).flatMap { i in (i..<p).map { (i, $0) } } }

    static func symmetricBasis(_ p: Int, _ pair: (Int, Int)) -> Matrix {
        var e = Matrix(rows: p, columns: p)
        e[pair.0, pair.1] = 1; e[pair.1, pair.0] = 1
        return e
    }

    /// X with X = M X Mᵀ + Q (Kronecker form, (I − M ⊗ M) vec X = vec Q; 2p ≤ 6 here).
    static func solveDiscreteLyapunov(_ m: Matrix, _ q: Matrix) throws -> Matrix {
        let n = m.rows
        var k = Matrix.identity(n * n)
        for i in 0..<n { for j in 0..<n { for a in 0..<n { for b in 0..<n {
            k[i * n + j, a * n + b] -= m[i, a] * m[j, b]
        } } } }
        var x = Matrix(rows: n, columns: n, elements: try k.solve(q.elements))
        for i in 0..<n { for j in 0..<i { let v = 0.5 * (x[i, j] + x[j, i]); x[i, j] = v; x[j, i] = v } }
        return x
    }

    /// G Σ Gᵀ/S: the one-step noise of z for a gradient covariance Σ.
    static func stepNoise(_ sigma: Matrix, p: Int, eta: Double, batch: Double) -> Matrix {
        var q = Matrix(rows: 2 * p, columns: 2 * p)
        for i in 0..<p { for j in 0..<p {
            let s = sigma[i, j] / batch
            q[i, j] = eta * eta / 4 * s
            q[i, p + j] = eta / 2 * s
            q[p + i, j] = eta / 2 * s
            q[p + i, p + j] = s
        } }
        return q
    }

    /// L: for each basis Σ_ab the discrete stationary θ̄ covariance, and for each basis D_v the
    /// continuous one; L = F⁻¹ X.
    static func noiseMap(stepMap m: Matrix, driftMatrix a: Matrix, p: Int, eta: Double, batch: Double) throws -> Matrix {
        let pairs = Self.pairs(p), n = pairs.count
        var discrete = Matrix(rows: n, columns: n), continuous = Matrix(rows: n, columns: n)
        for (column, pair) in pairs.enumerated() {
            let basis = symmetricBasis(p, pair)
            let x = try solveDiscreteLyapunov(m, stepNoise(basis, p: p, eta: eta, batch: batch))
            var forcing = Matrix(rows: 2 * p, columns: 2 * p)
            for i in 0..<p { for j in 0..<p { forcing[p + i, p + j] = 2 * basis[i, j] } }
            let cont = try Matrix.solveLyapunov(a, forcing)
            for (row, (i, j)) in pairs.enumerated() {
                discrete[row, column] = x[i, j]
                continuous[row, column] = cont[i, j]
            }
        }
        return try continuous.solve(discrete)
    }

    /// D_v = L(Σ) for a gradient covariance Σ.
    public func velocityDiffusion(forNoise sigma: Matrix) -> Matrix {
        let p = parameters.parameterCount, pairs = Self.pairs(p)
        var result = Matrix(rows: p, columns: p)
        for (row, (i, j)) in pairs.enumerated() {
            let value = pairs.enumerated().reduce(0.0) { s, entry in s + noiseMap[row, entry.offset] * sigma[entry.element.0, entry.element.1] }
            result[i, j] = value; result[j, i] = value
        }
        return result
    }

    /// The equation's own error in the stationary state: max |C − X|_ij/(σ_i σ_j) between its exact
    /// second moments C and the heavy ball's X (`HeavyBallMoments`).
    public func modelError() throws -> Double {
        let c = try SGDMomentumMoments(self).covariance, x = try HeavyBallMoments(self).covariance
        var worst = 0.0
        for i in 0..<c.rows { for j in 0..<c.rows { worst = max(worst, abs(c[i, j] - x[i, j]) / (x[i, i] * x[j, j]).squareRoot()) } }
        return worst
    }

    /// The one-sentence warning when the equation misses the heavy ball's stationary moments by
    /// more than 1 % of σ_i σ_j (nil otherwise, or when the moments do not exist).
    public func modelWarning() -> String? {
        guard let error = try? modelError(), error > 0.01 else { return nil }
        return String(format: "the modified equation misses the heavy ball's own stationary second moments by %.1f %% of σ_i σ_j here (it is built for momentum near 1: 0.4 %% at β = 0.8, 3.8 %% at β = 0.5); compare heavy_ball_covariance with model_covariance in the output", 100 * error)
    }

    /// The centre (μ_λ, 0).
    public var centre: [Double] { parameters.fixedPoint + [Double](repeating: 0, count: parameters.parameterCount) }

    /// Constant noise: the OU process (A, diag(0, L(Σ))).
    public func linearModel(temperature: Double = 1) -> LinearModel {
        let p = parameters.parameterCount
        var diffusion = Matrix(rows: 2 * p, columns: 2 * p)
        let dv = velocityDiffusion(forNoise: parameters.gradientNoise)
        for i in 0..<p { for j in 0..<p { diffusion[p + i, p + j] = dv[i, j] } }
        return LinearModel(driftMatrix: driftMatrix, diffusion: diffusion, center: centre, temperature: temperature,
                           velocityAxes: Dictionary(uniqueKeysWithValues: (0..<p).map { ($0, p + $0) }))
    }

    /// State-dependent noise: the same drift, D_v(z) = ỹᵀ F_rs ỹ as expressions of the axes.
    public func stateDependentModel(names: [String], temperature: Double = 1) -> GeneralModel {
        let p = parameters.parameterCount, d = 2 * p
        let centre = self.centre
        let z: [Formula] = (0..<d).map { centre[$0] == 0 ? .variable($0, names[$0]) : .subtract(.variable($0, names[$0]), .number(centre[$0])) }
        let drift: [Formula] = (0..<d).map { i in
            (0..<d).reduce(Formula.number(0)) { s, j in driftMatrix[i, j] == 0 ? s : .sum(s, .product(.number(-driftMatrix[i, j]), z[j])) }
        }
        var diffusion = [Formula](repeating: .number(0), count: d * d)
        for (row, (i, j)) in Self.pairs(p).enumerated() {
            let form = noiseForms[row]
            // ỹᵀFỹ = F_dd + Σ_u z_u (2F_ud + F_uu z_u + Σ_{v>u} 2F_uv z_v).
            var entry = Formula.number(form[d, d])
            for u in 0..<d {
                var inner = Formula.sum(.number(2 * form[u, d]), .product(.number(form[u, u]), z[u]))
                for v in (u + 1)..<d where form[u, v] != 0 { inner = .sum(inner, .product(.number(2 * form[u, v]), z[v])) }
                entry = .sum(entry, .product(z[u], inner))
            }
            diffusion[(p + i) * d + p + j] = entry
            diffusion[(p + j) * d + p + i] = entry
        }
        return GeneralModel(drift: drift, diffusion: diffusion, temperature: temperature,
                            velocityAxes: Dictionary(uniqueKeysWithValues: (0..<p).map { ($0, p + $0) }))
    }

    /// E[D_v] for a state with mean `mean` (of z, i.e. about the centre) and covariance
    /// `covariance` (what the moment equations of the continuous model need): tr(F_rs E[ỹỹᵀ]).
    func expectedVelocityDiffusion(mean: [Double], covariance: Matrix) -> Matrix {
        let p = parameters.parameterCount, d = 2 * p
        guard parameters.stateDependentNoise else { return velocityDiffusion(forNoise: parameters.gradientNoise) }
        let offset = mean
        var second = Matrix(rows: d + 1, columns: d + 1)
        for u in 0..<d {
            for v in 0..<d { second[u, v] = covariance[u, v] + offset[u] * offset[v] }
            second[u, d] = offset[u]; second[d, u] = offset[u]
        }
        second[d, d] = 1
        var result = Matrix(rows: p, columns: p)
        for (row, (i, j)) in Self.pairs(p).enumerated() {
            var value = 0.0
            for u in 0...d { for v in 0...d { value += noiseForms[row][u, v] * second[u, v] } }
            result[i, j] = value; result[j, i] = value
        }
        return result
    }

    /// E[Σ(θ_k)] for the heavy ball's state z_k with mean `mean` (about the centre) and covariance
    /// `covariance`: θ_k − μ = P z + δ with P = [I, (η/2) I] and δ = μ_λ − μ.
    func expectedNoise(mean: [Double], covariance: Matrix) -> Matrix {
        let p = parameters.parameterCount, eta = parameters.learningRate
        let offset = (0..<p).map { centre[$0] + mean[$0] + eta / 2 * mean[p + $0] - parameters.minimum[$0] }
        var second = Matrix(rows: p, columns: p)
        for i in 0..<p { for j in 0..<p {
            second[i, j] = covariance[i, j] + eta / 2 * (covariance[i, p + j] + covariance[p + i, j])
                + eta * eta / 4 * covariance[p + i, p + j] + offset[i] * offset[j]
        } }
        guard parameters.stateDependentNoise else { return parameters.gradientNoise }
        return parameters.leastSquaresNoise.expected(secondMoment: second)
    }
}

/// The exact stationary mean and covariance of the discrete heavy ball in the modified equation's
/// state z = (θ̄ − μ_λ, v), with fresh data of the given moments at each step (infinite data):
/// X = M X Mᵀ + G E[Σ(θ_k)] Gᵀ/S, closed because E[Σ(θ_k)] is linear in X. The reference real SGD
/// must reproduce, and the modified equation to within 0.5 % of σ_i σ_j at ηh = 0.2.
public struct HeavyBallMoments: Sendable {
    public let mean: [Double]
    public let covariance: Matrix
    /// Cov θ_k = C_θ̄θ̄ + (η²/4) C_vv (stationarity makes the symmetric part of C_θ̄v vanish).
    public let iterateCovariance: Matrix

    public init(_ equation: HeavyBallModifiedEquation) throws {
        let parameters = equation.parameters
        let p = parameters.parameterCount, d = 2 * p
        let zero = [Double](repeating: 0, count: d)
        func noise(_ x: Matrix) -> Matrix {
            HeavyBallModifiedEquation.stepNoise(equation.expectedNoise(mean: zero, covariance: x), p: p,
                                                eta: parameters.learningRate, batch: parameters.batchSize)
        }
        var x = try HeavyBallModifiedEquation.solveDiscreteLyapunov(equation.stepMap, noise(Matrix(rows: d, columns: d)))
        var settled = false
        for _ in 0..<500 {
            let next = try HeavyBallModifiedEquation.solveDiscreteLyapunov(equation.stepMap, noise(x))
            let change = (next - x).maxAbs
            x = next
            guard x.elements.allSatisfy(\.isFinite), x.maxAbs < 1e100 else { break }
            if change <= 1e-15 * x.maxAbs { settled = true; break }
        }
        guard settled else {
            throw FokkerPlanckError.solverFailed("the heavy ball's second moments do not settle: the state-dependent noise grows too fast for a stationary variance")
        }
        mean = equation.centre
        covariance = x
        iterateCovariance = Self.iterateCovariance(x, p: p, eta: parameters.learningRate)
    }

    static func iterateCovariance(_ c: Matrix, p: Int, eta: Double) -> Matrix {
        var result = Matrix(rows: p, columns: p)
        for i in 0..<p { for j in 0..<p { result[i, j] = c[i, j] + eta * eta / 4 * c[p + i, p + j] } }
        return result
    }
}
