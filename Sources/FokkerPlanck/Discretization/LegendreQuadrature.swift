import Foundation

/// The Galerkin operator of a model with expression coefficients (`GeneralModel`: the `general`,
/// `sgd` and `power-law` models, state-dependent D) on Legendre and Fourier axes, by quadrature
/// (Gauss–Legendre on a bounded axis, the trapezoid rule on a periodic one: `LegendreAxis.quadratureRule`).
///
/// The weak form is the linear one's (`LegendreDiscretization`): L_ij = ∫ ∇Ψ_i · J(Φ_j) with the
/// Itô flux J = (μ − ∇·D) Φ − D ∇Φ (∇·D row-wise, symbolic derivatives of D's expressions), so the
/// zero-flux wall is natural (a periodic axis has no boundary term) and the row of Ψ = 1 is exactly zero (its derivative tables are 0):
/// mass is conserved to round-off. The coefficients are not polynomials, so the integrals are
/// Gauss–Legendre sums with 2n + 16 nodes per axis (n the modes), exact for the polynomial part
/// of the integrand and spectrally accurate for the rest — the same convergence as the expansion.
/// Sum factorisation keeps the cost at n₁²Q₁Q₂ + n₁²n₂²Q₂ per term in 2-d; the operator is dense
/// (every basis function meets every other through a non-polynomial coefficient), so 1-d and 2-d
/// only, and at most `maximumCoefficients` unknowns (a dense LU of 2500 is 5e9 flops).
struct LegendreQuadrature: Sendable {
    static let maximumCoefficients = 2500

    let model: GeneralModel
    /// (∇·D)_k = Σ_l ∂_l D_kl, symbolic.
    let divergence: [CompiledFormula]

    init(model: GeneralModel) {
        let d = model.dimension
        divergence = (0..<d).map { k in
            CompiledFormula((0..<d).reduce(Formula.number(0)) { s, l in .sum(s, model.diffusionEntries[k * d + l].derivative(l)) })
        }
        self.model = model
    }

    /// Itô drift minus ∇·D: the coefficient of Φ in J.
    func transport(_ z: [Double]) -> [Double] {
        var mu = model.drift(at: z)
        for k in 0..<mu.count { mu[k] -= divergence[k].evaluate(z) }
        return mu
    }

    /// One axis' quadrature rule with its basis functions' values and z-derivatives at the nodes ([q][n]).
    struct Table {
        var nodes: [Double], weights: [Double], values: [[Double]], slopes: [[Double]]

        /// Two tables for 1-d or 2-d axes: a 1-d problem is a 2-d one with a single node of weight 1
        /// and one constant function.
        static func tables(_ axes: [LegendreAxis]) -> [Table] {
            var tables: [Table] = axes.map { axis in
                let (nodes, weights) = axis.quadratureRule()
                var values = [[Double]](), slopes = [[Double]]()
                var v = [Double](repeating: 0, count: axis.count), s = v
                for x in nodes {
                    axis.evaluate(x, values: &v, derivatives: &s)
                    values.append(v)
                    slopes.append(s.map { $0 / axis.half })
                }
                return Table(nodes: nodes, weights: weights, values: values, slopes: slopes)
            }
            if axes.count == 1 { tables.append(Table(nodes: [0], weights: [1], values: [[1]], slopes: [[0]])) }
            return tables
        }
    }

    /// One term of the weak form L_ij = ∫∇Ψ_i·J(Φ_j) at the tensor nodes: its coefficient times
    /// the quadrature weight, the axis of the test function's derivative, and the axis of the
    /// trial function's (nil: its value).
    typealias WeakTerm = (field: [Double], test: Int, trial: Int?)

    /// The weak form's terms on the nodes of `tables`: w·a_k with a = μ − ∇·D (test ∂_k, trial
    /// value), then −w·D_kl (test ∂_k, trial ∂_l), k-major. `generator`, the residual and its
    /// correction all read these.
    func weakTerms(axes: [LegendreAxis], tables: [Table]) -> [WeakTerm] {
        let d = axes.count
        let q1 = tables[0].nodes.count, q2 = tables[1].nodes.count
        var fields = [[Double]](repeating: [Double](repeating: 0, count: q1 * q2), count: d + d * d)
        var z = [Double](repeating: 0, count: d), diffusion = [Double](repeating: 0, count: d * d)
        for a in 0..<q1 { for b in 0..<q2 {
            z[0] = axes[0].mid + axes[0].half * tables[0].nodes[a]
            if d == 2 { z[1] = axes[1].mid + axes[1].half * tables[1].nodes[b] }
            let w = tables[0].weights[a] * tables[1].weights[b]
            let mu = transport(z)
            model.diffusion(at: z, into: &diffusion)
            for k in 0..<d { fields[k][a * q2 + b] = w * mu[k] }
            for k in 0..<d { for l in 0..<d { fields[d + k * d + l][a * q2 + b] = -w * diffusion[k * d + l] } }
        } }
        let shapes: [(Int, Int?)] = (0..<d).map { ($0, nil) } + (0..<d).flatMap { k in (0..<d).map { (k, $0) } }
        return zip(fields, shapes).map { ($0, $1.0, $1.1) }
    }

    /// L (dense, as sparse rows), in the scaling of `LegendreDiscretization.generatorTerms`:
    /// ξ-space quadrature weights (the Jacobian left out), z-derivatives.
    func generator(axes: [LegendreAxis], sizes: [Int], strides: [Int]) -> SparseMatrix {
        let d = axes.count
        precondition(d == 1 || d == 2)
        let tables = Table.tables(axes)
        let n1 = tables[0].values[0].count, n2 = tables[1].values[0].count
        let q1 = tables[0].nodes.count, q2 = tables[1].nodes.count
        let terms = weakTerms(axes: axes, tables: tables)
        let n = n1 * n2
        var dense = [Double](repeating: 0, count: n * n)
        var stage = [Double](repeating: 0, count: q2 * n1 * n1)
        for (c, testAxis, trialAxis) in terms {
            func table(_ axis: Int, derivative: Bool) -> [[Double]] { derivative ? tables[axis].slopes : tables[axis].values }
            let a1 = table(0, derivative: testAxis == 0), b1 = table(0, derivative: trialAxis == 0)
            let a2 = table(1, derivative: testAxis == 1), b2 = table(1, derivative: trialAxis == 1)
            // Stage 1: S[q2][i1][j1] = Σ_q1 c(q1, q2) A1[q1][i1] B1[q1][j1].
            for i in stage.indices { stage[i] = 0 }
            for b in 0..<q2 {
                for a in 0..<q1 {
                    let weight = c[a * q2 + b]
                    if weight == 0 { continue }
                    let rowA = a1[a], rowB = b1[a]
                    for i1 in 0..<n1 where rowA[i1] != 0 {
                        let f = weight * rowA[i1]
                        let base = (b * n1 + i1) * n1
                        for j1 in 0..<n1 { stage[base + j1] += f * rowB[j1] }
                    }
                }
            }
            // Stage 2: L[(i1, i2), (j1, j2)] += Σ_q2 S[q2][i1][j1] A2[q2][i2] B2[q2][j2].
            for b in 0..<q2 {
                let rowA = a2[b], rowB = b2[b]
                for i1 in 0..<n1 { for j1 in 0..<n1 {
                    let s = stage[(b * n1 + i1) * n1 + j1]
                    if s == 0 { continue }
                    for i2 in 0..<n2 where rowA[i2] != 0 {
                        let f = s * rowA[i2]
                        let base = (i1 * n2 + i2) * n + j1 * n2
                        for j2 in 0..<n2 { dense[base + j2] += f * rowB[j2] }
                    }
                } }
            }
        }
        // The flat index of (i1, i2) is i1 n2 + i2, which is LegendreDiscretization's row-major order.
        precondition(d == 1 || strides[0] == n2)
        // Every computed entry is kept, round-off ones included: a drop threshold (tried: 1e-14 of
        // the row's largest) cut couplings that set the small high-degree coefficients and cost
        // a factor 8 in accuracy (power-law-ito-legendre 1.9e-13 instead of 2.3e-14 at 500 modes).
        var builder = SparseRowBuilder(rows: n, columns: n, estimatedNonzeros: n * n)
        for row in 0..<n {
            for column in 0..<n where dense[row * n + column] != 0 { builder.add(column: column, dense[row * n + column]) }
            builder.endRow()
        }
        return builder.build()
    }

    /// The part of the solution its basis cannot hold, sized from the residual it leaves in a
    /// basis with twice the modes per axis: relative L1 of the first-order correction, whose
    /// coefficients on the added functions (wavenumbers K + 1 … 2K on a fourier axis, degrees
    /// modes … 2·modes − 1 between walls) solve L δ = −r with L's near-diagonal couplings there,
    /// r_i = ∫∇Ψ_i·J(ρ_h) the weak residual, and — given `resolvedSolve`, the stationary solve's
    /// factorization — whose coefficients on the functions the basis holds solve L_hh e = −L_ha δ.
    /// Measured against the truth: 0.86–1.01× on the validation cases where the basis holds the
    /// density, 1.1× on the e^{cos 11x} ring below.
    ///
    /// Why: the expansion's tail and the half-mode run both read the solution the basis holds.
    /// When the density's content lies beyond the modes on some axis — e^{cos 11x} at 17 modes, whose
    /// only wavenumbers are 0, 11, 22, … — the Galerkin solution is the constant, its tail is
    /// zero, the half-mode run agrees, and the estimate said 9e-15 against a true error of 0.58.
    /// The residual of that constant in the richer basis is what the equation leaves unmet.
    /// Cost: sum-factorised sums over (2·2n + 16)^d nodes, a sparse LU of the banded couplings
    /// and one solve with the existing factorization (far below the operator's assembly).
    /// nil when a coefficient is not finite at the richer rule's nodes, or when the couplings'
    /// LU fails and D is not positive on every added function (λ ≤ 0).
    func unresolvedCorrection(of state: [Double], axes: [LegendreAxis], resolvedSolve: (([Double]) throws -> [Double])? = nil) -> UnresolvedContent? {
        let d = axes.count
        precondition(d == 1 || d == 2)
        let rich = axes.map { axis in
            axis.periodic
                ? LegendreAxis(periodicLower: axis.lower, upper: axis.upper, modes: 2 * axis.modes)
                : LegendreAxis(lower: axis.lower, upper: axis.upper, modes: 2 * axis.modes,
                               lowerAbsorbing: axis.lowerAbsorbing, upperAbsorbing: axis.upperAbsorbing)
        }
        // The original basis is a prefix of the richer one on both kinds of axis (the same
        // vertex functions, then bubbles or waves in order).
        for (a, r) in zip(axes, rich) { precondition(Array(r.labels.prefix(a.count)) == a.labels) }
        let tables = Table.tables(rich)
        let n1 = axes[0].count, n2 = d == 2 ? axes[1].count : 1
        let m1 = tables[0].values[0].count, m2 = tables[1].values[0].count
        let q1 = tables[0].nodes.count, q2 = tables[1].nodes.count
        precondition(state.count == n1 * n2)
        let nodes = q1 * q2
        // A field of c1 × c2 coefficients (the first of each axis' richer functions) and its
        // z-gradient at the nodes: first over axis 1's functions, then axis 2's.
        func evaluate(_ coefficients: [Double], _ c1: Int, _ c2: Int) -> (values: [Double], gradient: [[Double]]) {
            var along = [Double](repeating: 0, count: q1 * c2), alongSlope = along
            for a in 0..<q1 { for p1 in 0..<c1 {
                let v = tables[0].values[a][p1], s = tables[0].slopes[a][p1]
                for p2 in 0..<c2 { let c = coefficients[p1 * c2 + p2]; along[a * c2 + p2] += v * c; alongSlope[a * c2 + p2] += s * c }
            } }
            var values = [Double](repeating: 0, count: nodes), gradient = [[Double]](repeating: values, count: 2)
            for a in 0..<q1 { for b in 0..<q2 {
                var r = 0.0, g1 = 0.0, g2 = 0.0
                for p2 in 0..<c2 {
                    let v = tables[1].values[b][p2]
                    r += v * along[a * c2 + p2]; g1 += v * alongSlope[a * c2 + p2]; g2 += tables[1].slopes[b][p2] * along[a * c2 + p2]
                }
                values[a * q2 + b] = r; gradient[0][a * q2 + b] = g1; gradient[1][a * q2 + b] = g2
            } }
            return (values, gradient)
        }
        let (rho, gradient) = evaluate(state, n1, n2)
        let terms = weakTerms(axes: axes, tables: tables)
        guard terms.allSatisfy({ $0.field.allSatisfy(\.isFinite) }) else { return nil }
        // The weighted flux w·J_k(f) = w·a_k f − Σ_l w·D_kl ∂_l f at the nodes, of a field with these
        // values and gradient: the sum of the terms with test axis k.
        func flux(_ value: [Double], _ slope: [[Double]]) -> [[Double]] {
            var j = [[Double]](repeating: [Double](repeating: 0, count: nodes), count: d)
            for (field, test, trial) in terms {
                let f = trial.map { slope[$0] } ?? value
                for i in 0..<nodes { j[test][i] += field[i] * f[i] }
            }
            return j
        }
        let weightedFlux = flux(rho, gradient)
        var densityNorm = 0.0
        for a in 0..<q1 { for b in 0..<q2 { densityNorm += tables[0].weights[a] * tables[1].weights[b] * abs(rho[a * q2 + b]) } }
        guard densityNorm > 0 else { return nil }
        // Σ_nodes f · A1[·][i1] · A2[·][i2] for every (i1, i2) of the richer basis, sum-factorised.
        func project(_ f: [Double], _ a1: [[Double]], _ a2: [[Double]], into out: inout [Double]) {
            var stage = [Double](repeating: 0, count: q2 * m1)
            for a in 0..<q1 { for b in 0..<q2 {
                let x = f[a * q2 + b]
                if x == 0 { continue }
                let row = a1[a]
                for i1 in 0..<m1 { stage[b * m1 + i1] += x * row[i1] }
            } }
            for b in 0..<q2 { let row = a2[b]; for i1 in 0..<m1 {
                let s = stage[b * m1 + i1]
                if s == 0 { continue }
                for i2 in 0..<m2 { out[i1 * m2 + i2] += s * row[i2] }
            } }
        }
        // Derivative tables per axis k: (axis 1's table, axis 2's table) for ∂_k Ψ.
        func derivative(_ k: Int) -> ([[Double]], [[Double]]) { k == 0 ? (tables[0].slopes, tables[1].values) : (tables[0].values, tables[1].slopes) }
        func squared(_ x: [[Double]], _ y: [[Double]]) -> [[Double]] { zip(x, y).map { zip($0, $1).map(*) } }
        // The residual, and the diffusive diagonal λ_i = ∫∇Ψ_i·D∇Ψ_i (minus the diffusion terms'
        // diagonal) for the fallback below.
        var residual = [Double](repeating: 0, count: m1 * m2), lambda = residual
        for k in 0..<d { let (a1, a2) = derivative(k); project(weightedFlux[k], a1, a2, into: &residual) }
        for (field, test, trial) in terms {
            guard let trial else { continue }
            let (a1, a2) = derivative(test), (b1, b2) = derivative(trial)
            project(field.map { -$0 }, squared(a1, b1), squared(a2, b2), into: &lambda)
        }
        // δ on the added functions: L δ = −r with L restricted to them and to its near-diagonal
        // couplings — on a fourier axis cos kx with sin kx of the same k (the pair a drift couples
        // by ±a k; the other wavenumbers meet only through the coefficients' variation), on a
        // legendre axis the functions within 3 degrees (a constant drift couples p with p ± 1, a
        // linear one with p ± 1 and p ± 3, D's variation the even offsets) — one sparse LU. With
        // the diffusive diagonal alone a drift was left out: 95× above the truth on a ring with
        // drift −16, D = 0.024 at 13 modes (review: 1.45e-2 against 1.5e-4, a false warning;
        // cos/sin pairs 1.48e-4, the whole added block 1.51e-4), and 25× on a legendre square
        // with rotation 200 and D = 0.01 (0.025 against 0.001; now 0.0012). The diffusive
        // diagonal remains the fallback should the LU fail.
        let partners: [[[Int]]] = (0..<2).map { k in
            let count = k == 0 ? m1 : m2
            guard k < d else { return [[0]] }
            if rich[k].periodic { return (0..<count).map { p in p == 0 ? [0] : (p % 2 == 1 ? [p, p + 1] : [p - 1, p]) } }
            return (0..<count).map { p in Array(max(0, p - 3)...min(count - 1, p + 3)) }
        }
        let entries = nearEntries(tables: tables, partners: partners, terms: terms)
        var added = [Int](repeating: -1, count: m1 * m2), order: [(Int, Int)] = []
        for i1 in 0..<m1 { for i2 in 0..<m2 where i1 >= n1 || i2 >= n2 { added[i1 * m2 + i2] = order.count; order.append((i1, i2)) } }
        let width = LegendreQuadrature.partnerWidth
        var builder = SparseRowBuilder(rows: order.count, columns: order.count, estimatedNonzeros: order.count * 25)
        for (i1, i2) in order {
            for (o1, j1) in partners[0][i1].enumerated() { for (o2, j2) in partners[1][i2].enumerated() {
                let column = added[j1 * m2 + j2]
                if column >= 0 { builder.add(column: column, entries[((i1 * width + o1) * m2 + i2) * width + o2]) }
            } }
            builder.endRow()
        }
        let r = order.map { -residual[$0.0 * m2 + $0.1] }
        var delta = try? DirectLinearSystem(builder.build(), ordering: .automatic, dimension: d, refine: false).solve(r)
        if delta == nil || !delta!.allSatisfy(\.isFinite) {
            delta = try? order.indices.map { m -> Double in
                let i = order[m].0 * m2 + order[m].1
                guard lambda[i] > 0 else { throw FokkerPlanckError.solverFailed("D is not positive on an added function") }
                return -r[m] / lambda[i]
            }
        }
        guard let delta else { return nil }
        var correction = [Double](repeating: 0, count: m1 * m2)
        for (m, (i1, i2)) in order.enumerated() { correction[i1 * m2 + i2] = delta[m] }
        // The part of the error in the functions the basis holds: L_hh e_h = −L_ha δ (the first
        // sweep of block Gauss–Seidel on the richer system), through the solve's own factorization.
        // δ alone misses it, and it can be the whole error: where wells are separated by high
        // barriers the stationary problem is ill-conditioned (its gap is exponentially small) and
        // a small residual moves mass between wells (review: drift −2.062 − 7.42 sin 11.31x − 2x,
        // D = 0.06 on [−1, 1] at 48 legendre modes: δ alone 5.7e-3, the true error 2.0).
        if let resolvedSolve {
            let (value, slope) = evaluate(correction, m1, m2)
            let driven = flux(value, slope)
            var coupling = [Double](repeating: 0, count: m1 * m2)
            for k in 0..<d { let (a1, a2) = derivative(k); project(driven[k], a1, a2, into: &coupling) }
            var rhs = [Double](repeating: 0, count: n1 * n2)
            for i1 in 0..<n1 { for i2 in 0..<n2 { rhs[i1 * n2 + i2] = -coupling[i1 * m2 + i2] } }
            guard let resolved = try? resolvedSolve(rhs), resolved.allSatisfy(\.isFinite) else { return nil }
            for i1 in 0..<n1 { for i2 in 0..<n2 { correction[i1 * m2 + i2] = resolved[i1 * n2 + i2] } }
        }
        // δ at the nodes: ∫|δ|, and its first-order change of the mean and covariance.
        var stage = [Double](repeating: 0, count: q1 * m2)
        for a in 0..<q1 { for i1 in 0..<m1 {
            let v = tables[0].values[a][i1]
            for i2 in 0..<m2 where correction[i1 * m2 + i2] != 0 { stage[a * m2 + i2] += v * correction[i1 * m2 + i2] }
        } }
        var correctionNorm = 0.0
        var z = [Double](repeating: 0, count: d)
        var mass = 0.0, first = [Double](repeating: 0, count: d), second = [Double](repeating: 0, count: d * d)
        var shift = (mass: 0.0, first: first, second: second)
        for a in 0..<q1 { for b in 0..<q2 {
            var x = 0.0
            for i2 in 0..<m2 { x += tables[1].values[b][i2] * stage[a * m2 + i2] }
            let w = tables[0].weights[a] * tables[1].weights[b], r = rho[a * q2 + b]
            z[0] = axes[0].mid + axes[0].half * tables[0].nodes[a]
            if d == 2 { z[1] = axes[1].mid + axes[1].half * tables[1].nodes[b] }
            correctionNorm += w * abs(x)
            mass += w * r; shift.mass += w * x
            for k in 0..<d {
                first[k] += w * z[k] * r; shift.first[k] += w * z[k] * x
                for l in 0..<d { second[k * d + l] += w * z[k] * z[l] * r; shift.second[k * d + l] += w * z[k] * z[l] * x }
            }
        } }
        guard mass > 0 else { return nil }
        // With E = ∫f ρ / ∫ρ: ΔE[f] = (∫f δ − E[f] ∫δ) / ∫ρ; ΔC_kl = ΔE[z_k z_l] − m_k Δm_l − m_l Δm_k.
        let m = first.map { $0 / mass }
        let dm = (0..<d).map { (shift.first[$0] - m[$0] * shift.mass) / mass }
        var dc = 0.0
        for k in 0..<d { for l in 0..<d {
            let dsecond = (shift.second[k * d + l] - second[k * d + l] / mass * shift.mass) / mass
            dc = max(dc, abs(dsecond - m[k] * dm[l] - m[l] * dm[k]))
        } }
        return UnresolvedContent(density: correctionNorm / densityNorm, mean: dm.map(abs).max()!, covariance: dc)
    }

    /// Partners per function in `nearEntries` (at most 7: a legendre function's degrees within 3).
    static let partnerWidth = 7

    /// L's entries between each function (i1, i2) and its partners (j1, j2), j1 ∈ partners[0][i1],
    /// j2 ∈ partners[1][i2], sum-factorised like `generator`; entry [((i1·W + o1)·m2 + i2)·W + o2]
    /// for j1 = partners[0][i1][o1], j2 = partners[1][i2][o2] (W = `partnerWidth`).
    private func nearEntries(tables: [Table], partners: [[[Int]]], terms: [WeakTerm]) -> [Double] {
        let width = Self.partnerWidth
        let m1 = tables[0].values[0].count, m2 = tables[1].values[0].count
        let q1 = tables[0].nodes.count, q2 = tables[1].nodes.count
        var entries = [Double](repeating: 0, count: m1 * width * m2 * width)
        var stage = [Double](repeating: 0, count: q2 * m1 * width)
        for (c, testAxis, trialAxis) in terms {
            let a1 = testAxis == 0 ? tables[0].slopes : tables[0].values, b1 = trialAxis == 0 ? tables[0].slopes : tables[0].values
            let a2 = testAxis == 1 ? tables[1].slopes : tables[1].values, b2 = trialAxis == 1 ? tables[1].slopes : tables[1].values
            for i in stage.indices { stage[i] = 0 }
            for b in 0..<q2 { for a in 0..<q1 {
                let weight = c[a * q2 + b]
                if weight == 0 { continue }
                for i1 in 0..<m1 {
                    let f = weight * a1[a][i1]
                    if f == 0 { continue }
                    for (o, j1) in partners[0][i1].enumerated() { stage[(b * m1 + i1) * width + o] += f * b1[a][j1] }
                }
            } }
            for b in 0..<q2 { for i1 in 0..<m1 { for o1 in 0..<partners[0][i1].count {
                let s = stage[(b * m1 + i1) * width + o1]
                if s == 0 { continue }
                for i2 in 0..<m2 {
                    let f = s * a2[b][i2]
                    if f == 0 { continue }
                    for (o2, j2) in partners[1][i2].enumerated() { entries[((i1 * width + o1) * m2 + i2) * width + o2] += f * b2[b][j2] }
                }
            } } }
        }
        return entries
    }

    /// Checks D at every node `generator` will sample (the same rule), and at the output grid's
    /// cell centres (the nodes never include the box's midpoint: 2n + 16 is even). These are
    /// samples: a D that degenerates strictly between all of them passes, and the error estimate
    /// and the negative-density warning are then what catches it.
    func checkDiffusion(axes: [LegendreAxis], grid: Grid) throws {
        var centre = [Double](repeating: 0, count: grid.dimension), values = [Double](repeating: 0, count: grid.dimension * grid.dimension)
        for c in 0..<grid.cellCount {
            grid.centre(c, into: &centre)
            model.diffusion(at: centre, into: &values)
            try Self.checkPositiveDefinite(values, d: grid.dimension, at: centre)
            // The currents are evaluated there with μ − ∇·D (review: a ∇·D that is infinite at
            // a cell centre only, as √x's at 0, would have reached the file as NaN).
            guard transport(centre).allSatisfy(\.isFinite) else {
                throw FokkerPlanckError.badInput(file: nil, keyPath: "model", line: nil,
                    message: "the drift (with ∇·D) is not finite at (\(centre.map { String(format: "%.6g", $0) }.joined(separator: ", "))), an output-grid cell centre where the current is evaluated")
            }
        }
        let d = axes.count
        let rules = axes.map { $0.quadratureRule().nodes }
        var z = [Double](repeating: 0, count: d), diffusion = [Double](repeating: 0, count: d * d)
        let counts = rules.map(\.count)
        for flat in 0..<counts.reduce(1, *) {
            var rest = flat
            for k in stride(from: d - 1, through: 0, by: -1) {
                z[k] = axes[k].mid + axes[k].half * rules[k][rest % counts[k]]
                rest /= counts[k]
            }
            model.diffusion(at: z, into: &diffusion)
            try Self.checkPositiveDefinite(diffusion, d: d, at: z)
            let a = transport(z)
            guard a.allSatisfy(\.isFinite) else {
                throw FokkerPlanckError.badInput(file: nil, keyPath: "model", line: nil,
                    message: "the drift (with ∇·D) is not finite at (\(z.map { String(format: "%.6g", $0) }.joined(separator: ", "))), a quadrature node of the spectral Galerkin method")
            }
        }
    }

    /// On a fourier axis the drift and D must be periodic: the basis is, and with a jump at
    /// the seam it converges to another problem — one with ρ continuous there where the Itô
    /// equation has Dρ continuous (review: D = 1 + 0.1x on a ring gave the current with the wrong
    /// sign, 5 % off in ρ at every mode count, with an estimate of 1e-6 and exit 0). Compared at
    /// the two ends of each fourier axis (along the other axis at its quadrature nodes), to 1e-8
    /// of the largest drift or D on the box's quadrature nodes — a box of 2π written to 16
    /// digits passes (sin differs by 2e-16), a seam in the coefficients does not. ∇·D may jump
    /// (a kink of D at the seam, as |sin x|, is a kink anywhere: algebraic convergence, which
    /// the estimate reports) and is not compared.
    func checkPeriodic(axes: [LegendreAxis], grid: Grid) throws {
        let d = axes.count
        let names = grid.axes.map(\.name)
        var labels = names.map { "the drift along '\($0)'" }
        for k in 0..<d { for l in 0..<d { labels.append("D['\(names[k])', '\(names[l])']") } }
        var diffusion = [Double](repeating: 0, count: d * d)
        func values(_ z: [Double]) -> [Double] {
            model.diffusion(at: z, into: &diffusion)
            return model.drift(at: z) + diffusion
        }
        // The scale of each kind of coefficient (drift, D): its largest value on the box.
        let groups = [0..<d, d..<(d + d * d)]
        var scale = [Double](repeating: 0, count: labels.count)
        let rules = axes.map { axis in axis.quadratureRule().nodes.map { axis.mid + axis.half * $0 } }
        var z = [Double](repeating: 0, count: d)
        for flat in 0..<rules.map(\.count).reduce(1, *) {
            var rest = flat
            for k in stride(from: d - 1, through: 0, by: -1) { z[k] = rules[k][rest % rules[k].count]; rest /= rules[k].count }
            let f = values(z)
            for group in groups { let m = f[group].reduce(0) { max($0, abs($1)) }; for i in group { scale[i] = max(scale[i], m) } }
        }
        for k in 0..<d where axes[k].periodic {
            let across: [Double] = d == 1 ? [0] : rules[1 - k]
            var pairs: [(z: [Double], lower: [Double], upper: [Double])] = []
            for t in across {
                var a = [Double](repeating: 0, count: d)
                if d == 2 { a[1 - k] = t }
                var b = a
                a[k] = axes[k].lower; b[k] = axes[k].upper
                pairs.append((a, values(a), values(b)))
            }
            for (z, fa, fb) in pairs {
                // A value that is not finite exactly on the seam is never sampled (the nodes are
                // midpoints, the output cells too); those elsewhere are checked elsewhere.
                for i in labels.indices where fa[i].isFinite && fb[i].isFinite && !(abs(fa[i] - fb[i]) <= 1e-8 * scale[i]) {
                    let elsewhere = d == 2 ? String(format: ", at %@ = %.6g", names[1 - k], z[1 - k]) : ""
                    throw FokkerPlanckError.badInput(file: nil, keyPath: "model", line: nil, message: String(format:
                        "the fourier basis on '%@' needs coefficients that are periodic on [lower, upper), but %@ is %.10g at %@ = %.10g and %.10g at %@ = %.10g%@: with a jump at the seam the expansion converges to another problem. Use type = \"finite-volume\", which takes the seam as it is, or make the coefficients periodic",
                        names[k], labels[i], fa[i], names[k], axes[k].lower, fb[i], names[k], axes[k].upper, elsewhere))
                }
            }
        }
    }

    /// The Galerkin zero-flux wall acts through the diffusive flux: D must be positive definite
    /// wherever the integrals sample it.
    static func checkPositiveDefinite(_ diffusion: [Double], d: Int, at z: [Double]) throws {
        let scale = diffusion.reduce(0) { max($0, abs($1)) }
        let ok: Bool
        if d == 1 {
            ok = diffusion[0] > 0 && diffusion[0].isFinite
        } else {
            let det = diffusion[0] * diffusion[3] - diffusion[1] * diffusion[2]
            ok = diffusion.allSatisfy(\.isFinite) && diffusion[0] > 0 && det > 1e-12 * scale * scale
        }
        guard ok else {
            let at = z.map { String(format: "%.6g", $0) }.joined(separator: ", ")
            throw FokkerPlanckError.badInput(file: nil, keyPath: "discretization.basis", line: nil,
                message: "the spectral Galerkin method of expression models needs a positive definite diffusion on the whole box (zero flux through a wall is imposed through the diffusive flux, and the stationary problem is well posed only then), but D = \(diffusion) at (\(at)); use type = \"finite-volume\"")
        }
    }
}
