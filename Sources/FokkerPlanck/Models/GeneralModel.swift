import Foundation

/// The stochastic-calculus convention in which a drift with state-dependent noise is written
/// (SPEC §2). Every one is converted to the Itô drift the scheme solves with:
///
/// * `ito` — μ as given;
/// * `stratonovich` — μ_Itô,i = μ_i + ½ Σ_k Σ_j σ_kj ∂_k σ_ij, with σ the noise amplitude
///   (2D = σσᵀ): the one given as `noise_amplitude`, else the symmetric square root of 2D;
/// * `isothermal` (Hänggi–Klimontovich) — J = μρ − D∇ρ, so μ_Itô,i = μ_i + Σ_j ∂_j D_ij. In one
///   dimension this is the post-point (α = 1) rule; in several it is the kinetic form that gives
///   every drift −D∇V the Boltzmann density e^{−V} whatever D(z) is.
public enum StochasticConvention: String, Sendable, CaseIterable {
    case ito, stratonovich, isothermal
}

/// Coefficients given as expressions of the axis names (problem-file `type = "general"`; `sgd`
/// and `power-law` are built on it): d drifts μ_i(z) and a symmetric d×d diffusion D(z) — or a
/// d×m noise amplitude σ(z) with D = ½σσᵀ — in one of the three conventions.
///
/// The Itô drift is symbolic wherever it can be: the isothermal correction ∇·D, the Stratonovich
/// correction of a given amplitude, and of a diagonal D (½ ∂_i D_ii), are expression derivatives.
/// Only a Stratonovich drift with a non-diagonal, state-dependent D needs the derivative of its
/// symmetric square root, which has no expression: at each point 2D = QΛQᵀ, σ = QΛ^{½}Qᵀ and
/// ∂_kσ = Q [(Qᵀ 2∂_kD Q)_ab / (√λ_a + √λ_b)] Qᵀ (the Sylvester equation σ∂σ + ∂σ σ = 2∂D in the
/// eigenbasis), exact up to round-off.
public struct GeneralModel: DriftDiffusionModel {
    public let dimension: Int
    public let temperature: Double
    public let convention: StochasticConvention
    /// The drift as the problem gives it (in `convention`).
    public let givenDrift: [Formula]
    /// The Itô drift, except for `numericalCorrection`.
    public let itoDrift: [Formula]
    /// D, row-major d×d.
    public let diffusionEntries: [Formula]
    /// The noise amplitude σ (row-major d×m) when the problem gives it.
    public let amplitude: [Formula]?
    /// True when the Stratonovich correction of the symmetric root is computed point by point.
    let numericalCorrection: Bool
    /// ∂_k D_ij as `[k][i * d + j]`, for `numericalCorrection`.
    let diffusionDerivatives: [[Formula]]
    public let hasConstantDiffusion: Bool
    public let hasAffineDrift: Bool
    /// Position axis → its velocity axis, for phase-space models built on expressions (SGD with
    /// momentum and state-dependent noise): what a specular wall reverses.
    public let velocityAxes: [Int: Int]
    /// `itoDrift` and `diffusionEntries` compiled for evaluation (`CompiledFormula`).
    let compiledDrift: [CompiledFormula]
    let compiledDiffusion: [CompiledFormula]

    /// - Parameters:
    ///   - drift: μ_i, in `convention`;
    ///   - diffusion: D_ij row-major (d×d), or nil when `amplitude` is given;
    ///   - amplitude: σ row-major (d × `amplitudeColumns`), or nil.
    public init(drift: [Formula], diffusion: [Formula]?, amplitude: [Formula]? = nil, amplitudeColumns: Int = 0,
                convention: StochasticConvention = .ito, temperature: Double = 1, velocityAxes: [Int: Int] = [:]) {
        let d = drift.count
        self.velocityAxes = velocityAxes
        dimension = d
        self.temperature = temperature
        self.convention = convention
        givenDrift = drift
        self.amplitude = amplitude
        var entries: [Formula]
        if let amplitude {
            let m = amplitudeColumns
            precondition(amplitude.count == d * m)
            entries = []
            for i in 0..<d { for j in 0..<d {
                var s = Formula.number(0)
                for a in 0..<m { s = .sum(s, .product(amplitude[i * m + a], amplitude[j * m + a])) }
                entries.append(.product(.number(0.5), s))
            } }
        } else {
            entries = diffusion!
            precondition(entries.count == d * d)
        }
        diffusionEntries = entries
        hasConstantDiffusion = entries.allSatisfy(\.isConstant)
        diffusionDerivatives = (0..<d).map { k in entries.map { $0.derivative(k) } }

        var correction = [Formula](repeating: .number(0), count: d)
        var numerical = false
        if !hasConstantDiffusion {
            switch convention {
            case .ito:
                break
            case .isothermal:
                for i in 0..<d { for j in 0..<d { correction[i] = .sum(correction[i], diffusionDerivatives[j][i * d + j]) } }
            case .stratonovich:
                if let amplitude {
                    // ½ Σ_k Σ_a σ_ka ∂_k σ_ia
                    let m = amplitudeColumns
                    for i in 0..<d { for k in 0..<d { for a in 0..<m {
                        correction[i] = .sum(correction[i], .product(.number(0.5), .product(amplitude[k * m + a], amplitude[i * m + a].derivative(k))))
                    } } }
                } else if (0..<d).allSatisfy({ i in (0..<d).allSatisfy { j in i == j || entries[i * d + j] == .number(0) } }) {
                    // σ = diag(sqrt(2 D_ii)): ½ σ_ii ∂_i σ_ii = ½ ∂_i D_ii.
                    for i in 0..<d { correction[i] = .product(.number(0.5), diffusionDerivatives[i][i * d + i]) }
                } else {
                    numerical = true
                }
            }
        }
        numericalCorrection = numerical
        itoDrift = (0..<d).map { Formula.sum(drift[$0], correction[$0]) }
        hasAffineDrift = !numerical && itoDrift.allSatisfy { mu in (0..<d).allSatisfy { mu.derivative($0).isConstant } }
        compiledDrift = itoDrift.map(CompiledFormula.init)
        compiledDiffusion = entries.map(CompiledFormula.init)
    }

    public func drift(at x: [Double], into mu: inout [Double]) {
        for i in 0..<dimension { mu[i] = compiledDrift[i].evaluate(x) }
        if numericalCorrection {
            let c = stratonovichCorrection(at: x)
            for i in 0..<dimension { mu[i] += c[i] }
        }
    }

    public func diffusion(at x: [Double], into d: inout [Double]) {
        for m in 0..<compiledDiffusion.count { d[m] = compiledDiffusion[m].evaluate(x) }
    }

    public func velocityAxis(pairedWith k: Int) -> Int? { velocityAxes[k] }

    /// One entry at a time, unless the Stratonovich correction couples them.
    public var evaluatesComponentwise: Bool { !numericalCorrection }

    public func driftComponent(_ k: Int, at x: [Double]) -> Double { compiledDrift[k].evaluate(x) }

    public func diffusionEntry(_ i: Int, _ j: Int, at x: [Double]) -> Double { compiledDiffusion[i * dimension + j].evaluate(x) }

    /// ½ Σ_k (∂_kσ σ)_ik for the symmetric root σ of 2D (see the type's notes); NaN where the root
    /// is not differentiable (D singular with a derivative that leaves the PSD cone's face).
    func stratonovichCorrection(at x: [Double]) -> [Double] {
        let d = dimension
        let twoD = Matrix(rows: d, columns: d, elements: diffusionEntries.map { 2 * $0.evaluate(x) })
        guard let (values, q) = try? twoD.symmetricEigen() else { return [Double](repeating: .nan, count: d) }
        let roots = values.map { Swift.max($0, 0).squareRoot() }
        var sigma = Matrix(rows: d, columns: d)
        for i in 0..<d { for j in 0..<d {
            var s = 0.0
            for a in 0..<d { s += q[i, a] * roots[a] * q[j, a] }
            sigma[i, j] = s
        } }
        var result = [Double](repeating: 0, count: d)
        for k in 0..<d {
            // B = Qᵀ (2∂_kD) Q, then ∂_kσ = Q [B_ab / (s_a + s_b)] Qᵀ.
            let dS = Matrix(rows: d, columns: d, elements: diffusionDerivatives[k].map { 2 * $0.evaluate(x) })
            var inner = Matrix(rows: d, columns: d)
            // B_ab on a pair of zero eigenvalues must vanish for the root to be differentiable;
            // what is left of it after the rotation is round-off of ∂D's size.
            let negligible = 1e-12 * Swift.max(dS.maxAbs, .leastNormalMagnitude)
            for a in 0..<d { for b in 0..<d {
                var s = 0.0
                for i in 0..<d { for j in 0..<d { s += q[i, a] * dS[i, j] * q[j, b] } }
                let denominator = roots[a] + roots[b]
                inner[a, b] = Swift.abs(s) <= negligible ? 0 : s / denominator
            } }
            var dSigma = Matrix(rows: d, columns: d)
            for i in 0..<d { for j in 0..<d {
                var s = 0.0
                for a in 0..<d { for b in 0..<d { s += q[i, a] * inner[a, b] * q[j, b] } }
                dSigma[i, j] = s
            } }
            for i in 0..<d {
                var s = 0.0
                for j in 0..<d { s += dSigma[i, j] * sigma[j, k] }
                result[i] += 0.5 * s
            }
        }
        return result
    }

    /// The total number of expression nodes (drift, Itô drift, D and its derivatives), bounded so
    /// that a pathological expression cannot make assembly take hours.
    public var expressionSize: Int {
        (givenDrift + itoDrift + diffusionEntries + diffusionDerivatives.flatMap { $0 }).reduce(0) { $0 + $1.nodeCount }
    }
}

extension GeneralModel {
    /// A problem with the coefficients somewhere they must not be, found where the scheme evaluates
    /// them: the cell centres, the walls, and the Gauss nodes of every segment along each axis
    /// (the other coordinates at cell centres).
    public struct Offence: Sendable {
        public let point: [Double]
        /// "drift[1]", "diffusion[0][1]", "diffusion": which coefficient.
        public let key: String
        public let message: String
        /// What to do about it, when there is something specific (after the point in messages).
        public var hint: String? = nil
    }

    /// The first point of `grid` where μ or D is not finite, D is not symmetric, or D is not
    /// positive semi-definite (`smallestPrincipalMinor`); nil when there is none. Then, over all
    /// those points: D ≡ 0 (no density to solve for), or an axis without noise whose drift depends
    /// on no other axis — it moves deterministically, so its stationary density is a point mass or
    /// not unique (the `linear` model's rank condition, in the form expressions allow). The points
    /// are samples: a D that turns indefinite strictly between two of them is not seen.
    public func firstOffence(on grid: Grid) -> Offence? {
        let d = dimension
        var x = [Double](repeating: 0, count: d), mu = [Double](repeating: 0, count: d)
        var dd = [Double](repeating: 0, count: d * d)
        let lattices = (0..<d).map { Self.schemePoints(grid.axes[$0]) }
        let centres = grid.axes.map(\.centres)
        func check(_ x: [Double]) -> Offence? {
            // D first: an indefinite D also spoils the Stratonovich root in the drift.
            diffusion(at: x, into: &dd)
            if let m = dd.firstIndex(where: { !$0.isFinite }) {
                return Offence(point: x, key: "diffusion[\(m / d)][\(m % d)]", message: "D is \(dd[m])")
            }
            let scale = dd.map(Swift.abs).max() ?? 0
            for i in 0..<d { for j in 0..<i where Swift.abs(dd[i * d + j] - dd[j * d + i]) > 1e-12 * scale {
                return Offence(point: x, key: "diffusion[\(i)][\(j)]", message: "D must be symmetric, but D[\(i)][\(j)] = \(dd[i * d + j]) and D[\(j)][\(i)] = \(dd[j * d + i])")
            } }
            if let (minor, rows) = Self.smallestPrincipalMinor(dd, dimension: d), minor < 0 {
                let name = rows.count == 1 ? "D[\(rows[0])][\(rows[0])] = \(minor)" : "the principal minor of rows \(rows) is \(minor)"
                return Offence(point: x, key: "diffusion", message: "D must be positive semi-definite, but \(name)")
            }
            drift(at: x, into: &mu)
            if let i = mu.firstIndex(where: { !$0.isFinite }) {
                let root = numericalCorrection && itoDrift[i].evaluate(x).isFinite
                return Offence(point: x, key: "drift[\(i)]", message: "the Itô drift μ_\(i) is \(mu[i])",
                               hint: root ? "the Stratonovich correction needs the derivative of the symmetric square root of 2D, which does not exist where D is singular and varies" : nil)
            }
            return nil
        }
        var index = [Int](repeating: 0, count: d)
        var noisy = [Bool](repeating: false, count: d)
        for k in 0..<d {
            // Axis k runs over its evaluation points, the others over their centres.
            let counts = (0..<d).map { $0 == k ? lattices[k].count : centres[$0].count }
            let total = counts.reduce(1, *)
            for m in 0..<d { index[m] = 0 }
            for _ in 0..<total {
                for m in 0..<d { x[m] = m == k ? lattices[k][index[m]] : centres[m][index[m]] }
                if let offence = check(x) { return offence }
                for m in 0..<d where dd[m * d + m] > 0 { noisy[m] = true }
                for m in stride(from: d - 1, through: 0, by: -1) {
                    index[m] += 1
                    if index[m] < counts[m] { break }
                    index[m] = 0
                }
            }
        }
        let names = grid.axes.map(\.name)
        if !noisy.contains(true) {
            return Offence(point: [], key: "diffusion", message: "D is zero everywhere on the box: without noise there is no density to solve for")
        }
        for k in 0..<d where !noisy[k] && !numericalCorrection {
            let coupled = (0..<d).contains { j in j != k && itoDrift[k].derivative(j) != .number(0) }
            if !coupled {
                return Offence(point: [], key: "drift[\(k)]",
                               message: "axis '\(names[k])' has no noise and its drift depends on no other axis, so '\(names[k])' moves deterministically and its stationary density is a point mass or not unique; add noise along '\(names[k])' or couple its drift to a noisy axis")
            }
        }
        return nil
    }

    /// The most negative principal minor of a symmetric d×d matrix beyond round-off, with its rows;
    /// nil when none is. PSD exactly when every principal minor is ≥ 0 (leading minors alone
    /// decide definiteness, not semi-definiteness). Each minor is judged against the product of its
    /// diagonal entries — the minor of the correlation matrix, invariant under rescaling an axis —
    /// allowing −1e-12 of it (the round-off of a rank-deficient D computed from expressions), so a
    /// small row cannot hide an indefinite block under a large one. Minors of up to 3 rows are
    /// computed inline (this runs at every evaluation point of the grid).
    static func smallestPrincipalMinor(_ a: [Double], dimension d: Int) -> (Double, [Int])? {
        var worst: (value: Double, rows: [Int], relative: Double)? = nil
        var rows: [Int] = []
        rows.reserveCapacity(d)
        for mask in 1..<(1 << d) {
            rows.removeAll(keepingCapacity: true)
            for i in 0..<d where mask & (1 << i) != 0 { rows.append(i) }
            func e(_ r: Int, _ c: Int) -> Double { a[rows[r] * d + rows[c]] }
            let value: Double
            switch rows.count {
            case 1: value = e(0, 0)
            case 2: value = e(0, 0) * e(1, 1) - e(0, 1) * e(1, 0)
            case 3:
                value = e(0, 0) * (e(1, 1) * e(2, 2) - e(1, 2) * e(2, 1)) - e(0, 1) * (e(1, 0) * e(2, 2) - e(1, 2) * e(2, 0))
                    + e(0, 2) * (e(1, 0) * e(2, 1) - e(1, 1) * e(2, 0))
            default:
                let n = rows.count
                let sub = Matrix(rows: n, columns: n, elements: rows.flatMap { i in rows.map { j in a[i * d + j] } })
                value = (try? sub.determinant()) ?? .nan
            }
            let diagonal = rows.reduce(1.0) { $0 * Swift.max(a[$1 * d + $1], 0) }
            guard value < -1e-12 * diagonal || value.isNaN else { continue }
            // Rank the offences by the minor over the largest entry's power (the diagonal product may be 0).
            let scale = rows.reduce(0.0) { m, i in rows.reduce(m) { Swift.max($0, Swift.abs(a[i * d + $1])) } }
            let relative = value / Foundation.pow(Swift.max(scale, .leastNormalMagnitude), Double(rows.count))
            if worst == nil || relative < worst!.relative || relative.isNaN { worst = (value, rows, relative) }
        }
        return worst.map { ($0.value, $0.rows) }
    }

    /// The points of one axis where the finite-volume scheme evaluates coefficients: the cell
    /// centres; the 3 Gauss nodes of every segment between neighbouring centres (across the seam
    /// of a periodic axis, wrapped), of the wall–centre segments of an absorbing axis, and the walls
    /// of a specular one. A reflecting wall carries no flux, so nothing is evaluated on it.
    static func schemePoints(_ axis: Axis) -> [Double] {
        let s = 0.5 * (3.0 / 5.0).squareRoot()
        let nodes = [0.5 - s, 0.5, 0.5 + s]
        let centres = axis.centres
        var points = centres
        func segment(_ a: Double, _ b: Double, wrap: Bool = false) {
            for t in nodes {
                var x = a + t * (b - a)
                if wrap { x = x < axis.lower ? x + axis.length : (x >= axis.upper ? x - axis.length : x) }
                points.append(x)
            }
        }
        for (a, b) in zip(centres, centres.dropFirst()) { segment(a, b) }
        switch axis.boundary {
        case .periodic: segment(axis.lower - 0.5 * axis.spacing, axis.lower + 0.5 * axis.spacing, wrap: true)
        case .absorbing: segment(axis.lower, centres[0]); segment(centres[centres.count - 1], axis.upper)
        case .specular: points += [axis.lower, axis.upper]
        case .reflecting: break
        }
        return points
    }
}
