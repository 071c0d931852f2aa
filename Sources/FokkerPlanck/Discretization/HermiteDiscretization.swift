import Foundation

/// Spectral discretization of an Ornstein–Uhlenbeck model (`LinearModel`: μ = −A(z − c), D
/// constant) in scaled Hermite functions — the first conformer of `Discretization` beside finite
/// volumes (issue 10).
///
/// With z = c + T ξ (centre c; T the Cholesky factor of the stationary covariance S by default,
/// so that the stationary state is ψ_0 itself, or diag(scale) when scales are given per axis)
/// the density in ξ is expanded as
///
///     ρ_ξ(ξ) = Σ_n a_n Π_i ψ_{n_i}(ξ_i),   ψ_k(ξ) = He_k(ξ) e^{−ξ²/2} / (√(2π) √k!),
///
/// (probabilists' Hermite polynomials times the Gaussian weight, normalised by √k!), and
/// ρ(z) = ρ_ξ(ξ) / |det T|. The relations ∂ψ_k = −√(k+1) ψ_{k+1} and
/// ξψ_k = √(k+1) ψ_{k+1} + √k ψ_{k−1} make the generator, with A′ = T⁻¹ A T and D′ = T⁻¹ D T⁻ᵀ,
///
///     L = Σ_ij A′_ij ∂_{ξ_i} ξ_j + D′_ij ∂_{ξ_i} ∂_{ξ_j}
///
/// a sparse matrix (plus −Σ b_i ∂_{ξ_i}, b = −T⁻¹A(c − c_model), when the basis centre is not
/// the model's): L ψ_n has terms in ψ_{n+e_i+e_j}, ψ_{n+e_i−e_j} and ψ_{n+e_i} only, so it keeps
/// or raises the total degree |n|. The kept modes are n_i < N_i (the `modes` per axis) with
/// |n| ≤ max N_i − 1. With equal modes on every axis this is a total-degree set, on which no
/// equation reaches a dropped mode: the truncated stationary system gives the exact expansion
/// coefficients up to that degree, and the error is the tail of the expansion alone (falling
/// geometrically while the stationary spread is below √2 × the basis' scale, diverging beyond).
/// Unequal modes cut the set further, and the coefficients near the cut carry a truncation error.
///
/// Only ψ_0 has mass: ∫ρ = a_0; row 0 of L is zero (conservation), and the stationary solve
/// pins a_0 there. Moments come from the coefficients exactly: E[ξ_i] ∝ a_{e_i},
/// E[ξ_i ξ_j] ∝ a_{e_i+e_j} (i ≠ j), E[ξ_i²] ∝ a_0 + √2 a_{2e_i}.
public struct HermiteDiscretization: Discretization {
    public let linear: LinearModel
    public var model: any DriftDiffusionModel { linear }
    /// The output grid: fields are evaluated at its cell centres.
    public let grid: Grid
    public let modes: [Int]
    public let centre: [Double]
    /// T in z = c + T ξ.
    public let transform: Matrix
    let inverseTransform: Matrix
    /// A′ = T⁻¹ A T and D′ = T⁻¹ D T⁻ᵀ: the model in ξ.
    let driftPrime: Matrix
    let diffusionPrime: Matrix
    /// |det T|.
    let jacobian: Double
    /// b = −T⁻¹A(c − c_model): the drift at ξ = 0, in ξ (zero when the centres agree).
    let driftOffset: [Double]
    /// The kept multi-indices, in state order (total degree first, so ψ_0 is unknown 0).
    public let indices: [[Int]]
    /// Mixed-radix key of a multi-index → its state position.
    let position: [Int: Int]

    /// Centre and transform default to the model's stationary mean and the Cholesky factor of its
    /// covariance (A S + S Aᵀ = 2D): the stationary state is then ψ_0, and what the expansion has
    /// to carry is only the departure from it. `scale` (per axis) gives T = diag(scale) instead.
    public init(model: LinearModel, grid: Grid, modes: [Int], centre: [Double]? = nil, scale: [Double]? = nil) throws {
        let d = model.dimension
        var transform: Matrix
        if let scale {
            guard scale.count == d, scale.allSatisfy({ $0.isFinite && $0 > 0 }) else {
                throw FokkerPlanckError.badInput(file: nil, keyPath: "discretization.scale", line: nil,
                                                 message: "the Hermite scale must be positive and finite on every axis, found \(scale)")
            }
            transform = Matrix.diagonal(scale)
        } else {
            transform = try Self.cholesky(OrnsteinUhlenbeckReference(model).covariance)
        }
        try self.init(model: model, grid: grid, modes: modes, centre: centre ?? model.center, transform: transform)
    }

    /// The basis z = centre + T ξ given outright (T non-singular).
    public init(model: LinearModel, grid: Grid, modes: [Int], centre: [Double], transform: Matrix) throws {
        let d = model.dimension
        precondition(grid.dimension == d && modes.count == d && centre.count == d)
        // The covariance lives in the degree-2 coefficients: fewer than 3 modes on an axis would
        // drop them and report the basis' own spread.
        guard modes.allSatisfy({ $0 >= 3 }) else {
            throw FokkerPlanckError.badInput(file: nil, keyPath: "discretization.modes", line: nil, message: "every axis needs at least 3 modes (the covariance is carried by degree 2), found \(modes)")
        }
        linear = model
        self.grid = grid
        self.modes = modes
        self.centre = centre
        self.transform = transform
        // Lower triangular (a Cholesky factor, a diagonal): the evaluation on the grid relies on it.
        precondition((0..<d).allSatisfy { i in ((i + 1)..<d).allSatisfy { transform[i, $0] == 0 } }, "T must be lower triangular")
        inverseTransform = try transform.inverse()
        jacobian = abs(try transform.determinant())
        driftPrime = inverseTransform * model.driftMatrix * transform
        diffusionPrime = inverseTransform * model.diffusionMatrix * inverseTransform.transposed
        driftOffset = inverseTransform * (model.driftMatrix * zip(model.center, centre).map { $0 - $1 })
        (indices, position) = Self.totalDegreeSet(modes)
    }

    /// The multi-indices n_i < modes_i of total degree ≤ max(modes) − 1, total degree first
    /// (ψ_0 first), and the map from their `key` to their position.
    static func totalDegreeSet(_ modes: [Int]) -> (indices: [[Int]], position: [Int: Int]) {
        let d = modes.count
        let degree = (modes.max() ?? 1) - 1
        var kept: [[Int]] = []
        var index = [Int](repeating: 0, count: d)
        for flat in 0..<modes.reduce(1, *) {
            var rest = flat
            for k in stride(from: d - 1, through: 0, by: -1) { index[k] = rest % modes[k]; rest /= modes[k] }
            if index.reduce(0, +) <= degree { kept.append(index) }
        }
        kept.sort { a, b in
            let (sa, sb) = (a.reduce(0, +), b.reduce(0, +))
            return sa != sb ? sa < sb : a.lexicographicallyPrecedes(b)
        }
        var position: [Int: Int] = [:]
        for (p, n) in kept.enumerated() { position[key(n, modes)] = p }
        return (kept, position)
    }

    static func key(_ n: [Int], _ modes: [Int]) -> Int {
        var key = 0
        for k in 0..<n.count { key = key * (modes[k] + 2) + n[k] }
        return key
    }

    func find(_ n: [Int]) -> Int? {
        for k in 0..<n.count where n[k] < 0 || n[k] >= modes[k] { return nil }
        return position[Self.key(n, modes)]
    }

    public var stateCount: Int { indices.count }
    /// a_0 is pinned in the stationary solve: its row of L is zero, and it carries all the mass.
    public var preferredPin: Int? { 0 }

    /// L ψ_n as (multi-index, coefficient) terms (before truncation).
    func generatorTerms(of n: [Int]) -> [([Int], Double)] {
        let d = n.count
        var terms: [([Int], Double)] = []
        // −Σ_i b_i ∂_i ψ_n = Σ_i b_i √(n_i+1) ψ_{n+e_i} (the constant drift b = driftOffset).
        for i in 0..<d where driftOffset[i] != 0 {
            var up = n; up[i] += 1
            terms.append((up, driftOffset[i] * Double(n[i] + 1).squareRoot()))
        }
        for i in 0..<d {
            for j in 0..<d {
                let a = driftPrime[i, j]
                let dij = diffusionPrime[i, j]
                // ∂_i ξ_j ψ_n = −√(n_j+1) √((n+e_j)_i + 1) ψ_{n+e_j+e_i} − √n_j √((n−e_j)_i + 1) ψ_{n−e_j+e_i}
                // ∂_i ∂_j ψ_n = √(n_j+1) √((n+e_j)_i + 1) ψ_{n+e_i+e_j}
                var up = n; up[j] += 1
                let raise = (Double(n[j] + 1)).squareRoot() * (Double(up[i] + 1)).squareRoot()
                var upUp = up; upUp[i] += 1
                let c = (dij - a) * raise
                if c != 0 { terms.append((upUp, c)) }
                if n[j] > 0 && a != 0 {
                    var down = n; down[j] -= 1
                    let lower = Double(n[j]).squareRoot() * (Double(down[i] + 1)).squareRoot()
                    var side = down; side[i] += 1
                    terms.append((side, -a * lower))
                }
            }
        }
        return terms
    }

    public func assemble() -> SparseMatrix {
        var triplets: [(row: Int, column: Int, value: Double)] = []
        for (column, n) in indices.enumerated() {
            for (m, value) in generatorTerms(of: n) {
                if let row = find(m) { triplets.append((row, column, value)) }
            }
        }
        return SparseMatrix(rows: stateCount, columns: stateCount, triplets: triplets)
    }

    /// ∫ρ dz = ∫ρ_ξ dξ = a_0 (only ψ_0 has mass).
    public func mass(of state: [Double]) -> Double { state[0] }

    /// The lower-triangular L with L Lᵀ = S (S symmetric positive definite).
    static func cholesky(_ s: Matrix) throws -> Matrix {
        let n = s.rows
        var l = Matrix(rows: n, columns: n)
        for j in 0..<n {
            var diagonal = s[j, j]
            for k in 0..<j { diagonal -= l[j, k] * l[j, k] }
            guard diagonal > 0, diagonal.isFinite else {
                throw FokkerPlanckError.badInput(file: nil, keyPath: "discretization", line: nil,
                    message: "the model's stationary covariance is not positive definite, so the Hermite basis has no default centre and scale; give discretization.scale")
            }
            l[j, j] = diagonal.squareRoot()
            for i in (j + 1)..<max(n, j + 1) {
                var v = s[i, j]
                for k in 0..<j { v -= l[i, k] * l[j, k] }
                l[i, j] = v / l[j, j]
            }
        }
        return l
    }

    /// ψ_k(ξ_i) for k = 0…K and every axis i at cell c: values[i * (K + 1) + k].
    func psi(cell c: Int, degree: Int, z: inout [Double], into values: inout [Double]) {
        let d = grid.dimension
        grid.centre(c, into: &z)
        var axis = [Double](repeating: 0, count: degree + 1)
        for i in 0..<d {
            var xi = 0.0
            for j in 0..<d { xi += inverseTransform[i, j] * (z[j] - centre[j]) }
            Self.hermiteFunctions(xi, into: &axis)
            for k in 0...degree { values[i * (degree + 1) + k] = axis[k] }
        }
    }

    /// Σ_n coefficients_n Π_i ψ_{n_i}(ξ_i) at the output grid's cell centres. T is lower
    /// triangular (a Cholesky factor or a diagonal), so ξ_k depends on z_0…z_k only, and the sum
    /// factorizes axis by axis (`TensorEvaluation`).
    func evaluate(_ terms: [([Int], Double)]) -> [Double] {
        Self.evaluate(terms, grid: grid, centre: centre, transform: transform)
    }

    /// Σ_n c_n Π_i ψ_{n_i}(ξ_i), ξ = T⁻¹(z − centre), T lower triangular, at `grid`'s cell centres.
    static func evaluate(_ terms: [([Int], Double)], grid: Grid, centre: [Double], transform: Matrix) -> [Double] {
        let d = grid.dimension
        let degree = terms.reduce(0) { max($0, $1.0.max() ?? 0) }
        let size = degree + 1
        var dense = [Double](repeating: 0, count: Int(pow(Double(size), Double(d))))
        for (n, coefficient) in terms where coefficient != 0 {
            var flat = 0
            for k in 0..<d { flat = flat * size + n[k] }
            dense[flat] += coefficient
        }
        let evaluation = TensorEvaluation(grid: grid, sizes: Array(repeating: size, count: d)) { k, z, local, values in
            // ξ_k = (T⁻¹(z − c))_k, with T lower triangular: from z_k and the ξ of earlier axes
            // (ξ_k = (z_k − c_k − Σ_{j<k} T_kj ξ_j) / T_kk).
            var xi = z - centre[k]
            for j in 0..<k { xi -= transform[k, j] * local[j] }
            xi /= transform[k, k]
            hermiteFunctions(xi, into: &values)
            return xi
        }
        return evaluation.evaluate(dense)
    }

    /// The marginal of z_S (S = `keep`) in closed form. z_S = c_S + T_S ξ with T_S the rows S of
    /// T; G = T_S T_Sᵀ = L Lᵀ (Cholesky). With ω = L⁻ᵀη the characteristic function of ρ_ξ,
    /// Σ_n a_n Π_j (i(Rη)_j)^{n_j}/√n_j! e^{−|η|²/2} with R = T_Sᵀ L⁻ᵀ (orthonormal columns), is
    /// that of y = L⁻¹(z_S − c_S) with the density Σ_m B_m Π_k He_{m_k}(y_k) φ(y_k), B_m the
    /// coefficient of η^m in Σ_n a_n/√n! Π_j (R_j·η)^{n_j} (the i^{|n|} = i^{|m|} cancel). So
    /// ρ_S = Σ_m b_m Π ψ_{m_k}(y_k) / det L with b_m = √m! B_m: a Hermite expansion in |S|
    /// variables, which `marginal(of:keeping:)` evaluates on the sub-grid and `axisMarginals`
    /// integrates over the box. nil when it would cost more than ~2e9 updates (seconds: e.g. a
    /// 3-axis marginal of p = 3 at 14⁶ modes) — the caller then sums the output grid.
    ///
    /// The product is built one linear factor at a time, in the normalised coefficients b
    /// (b_m = √m! B_m) with the 1/√n_j! spread over the factors: multiplying by (R_j·η)/√t moves
    /// b_m to b_{m+e_k} with the weight R_jk √(m_k+1)/√t. Every intermediate stays bounded (a
    /// product of unit vectors' components and ratios ≤ √(total degree)), where √m! alone
    /// overflows from m = 300; and only the monomials of the current total degree are visited.
    func marginalExpansion(of state: [Double], keeping keep: [Int]) -> (terms: [([Int], Double)], factor: Matrix)? {
        let d = grid.dimension, s = keep.count
        precondition(s > 0 && s < d)
        let degree = indices.reduce(0) { max($0, $1.reduce(0, +)) }
        var monomials = 1.0  // C(degree + s, s): the monomials of total degree ≤ degree
        for i in 1...s { monomials *= Double(degree + i) / Double(i) }
        guard Double(indices.count) * monomials * Double(s) <= 2e9 else { return nil }
        var g = Matrix(rows: s, columns: s)
        for a in 0..<s { for b in 0..<s { g[a, b] = (0..<d).reduce(0) { $0 + transform[keep[a], $1] * transform[keep[b], $1] } } }
        guard let l = try? Self.cholesky(g) else { return nil }
        // R = T_Sᵀ L⁻ᵀ, row j: solve L r_j = (T_S)_{·j} (forward substitution).
        var r = [[Double]](repeating: [Double](repeating: 0, count: s), count: d)
        for j in 0..<d {
            for a in 0..<s {
                var v = transform[keep[a], j]
                for b in 0..<a { v -= l[a, b] * r[j][b] }
                r[j][a] = v / l[a, a]
            }
        }
        // Dense arrays over the multi-indices m with m_k ≤ degree (flat index Σ m_k size^(s−1−k)),
        // and the flat indices of each total degree.
        let size = degree + 1
        let count = Int(pow(Double(size), Double(s)))
        var strides = [Int](repeating: 1, count: s)
        for k in stride(from: s - 2, through: 0, by: -1) { strides[k] = strides[k + 1] * size }
        var byDegree = [[Int]](repeating: [], count: degree + 1)
        for i in 0..<count {
            let total = (0..<s).reduce(0) { $0 + (i / strides[$1]) % size }
            if total <= degree { byDegree[total].append(i) }
        }
        var sum = [Double](repeating: 0, count: count)
        var poly = [Double](repeating: 0, count: count), next = poly
        for (c, n) in indices.enumerated() where state[c] != 0 {
            poly[0] = state[c]
            var current = 0  // poly's monomials all have this total degree
            for j in 0..<d {
                for t in stride(from: 1, through: n[j], by: 1) {
                    let scale = 1 / Double(t).squareRoot()
                    for i in byDegree[current + 1] { next[i] = 0 }
                    for i in byDegree[current] where poly[i] != 0 {
                        for k in 0..<s where r[j][k] != 0 {
                            let up = Double((i / strides[k]) % size + 1)
                            next[i + strides[k]] += poly[i] * r[j][k] * (up.squareRoot() * scale)
                        }
                        poly[i] = 0
                    }
                    swap(&poly, &next)
                    current += 1
                }
            }
            for i in byDegree[current] where poly[i] != 0 {
                sum[i] += poly[i]
                poly[i] = 0
            }
        }
        var terms: [([Int], Double)] = []
        for i in 0..<count where sum[i] != 0 { terms.append(((0..<s).map { (i / strides[$0]) % size }, sum[i])) }
        return (terms, l)
    }

    /// ∫ ρ over the axes not in `keep`, on `keep`'s sub-grid (`marginalExpansion`).
    public func marginal(of state: [Double], keeping keep: [Int]) -> [Double]? {
        let s = keep.count
        guard s > 0, s < grid.dimension else { return s == grid.dimension ? density(of: state) : nil }
        guard let (terms, l) = marginalExpansion(of: state, keeping: keep) else { return nil }
        let subGrid = Grid(axes: keep.map { grid.axes[$0] })
        let determinant = (0..<s).reduce(1.0) { $0 * l[$1, $1] }
        return Self.evaluate(terms, grid: subGrid, centre: keep.map { centre[$0] }, transform: l).map { $0 / determinant }
    }

    /// ψ_0…ψ_{P−1} at ξ (P = values.count), by the stable three-term recurrence.
    static func hermiteFunctions(_ xi: Double, into values: inout [Double]) {
        var previous = 0.0
        var current = exp(-0.5 * xi * xi) / (2 * Double.pi).squareRoot()
        values[0] = current
        for k in 0..<(values.count - 1) {
            // ψ_{k+1} = (ξ ψ_k − √k ψ_{k−1}) / √(k+1)
            let next = (xi * current - Double(k).squareRoot() * previous) / Double(k + 1).squareRoot()
            previous = current
            current = next
            values[k + 1] = next
        }
    }

    /// The one-axis case of `marginalExpansion`: z_k = centre_k + t·ξ (t the k-th row of T), a
    /// Hermite series of width r = |t| (L = r, R = t/r); a 1-d grid's only axis is ρ itself.
    public func axisMarginals(of state: [Double]) -> [AxisMarginal]? {
        let d = grid.dimension
        guard d > 1 else {
            var b = [Double](repeating: 0, count: modes[0])
            for (c, n) in indices.enumerated() { b[n[0]] = state[c] }
            return [AxisMarginal(centre: centre[0], width: transform[0, 0], coefficients: b)]
        }
        var marginals: [AxisMarginal] = []
        for k in 0..<d {
            guard let (terms, l) = marginalExpansion(of: state, keeping: [k]) else { return nil }
            var b = [Double](repeating: 0, count: (terms.map { $0.0[0] }.max() ?? 0) + 1)
            for (m, value) in terms { b[m[0]] += value }
            marginals.append(AxisMarginal(centre: centre[k], width: l[0, 0], coefficients: b))
        }
        return marginals
    }

    /// ρ(z) = ρ_ξ(ξ) / |det T|.
    public func density(of state: [Double]) -> [Double] {
        evaluate(zip(indices, state).map { ($0, $1 / jacobian) })
    }

    /// The state of a density sampled on the output grid, by quadrature of
    /// a_n = ∫ ρ(z) ψ_n(ξ)/ψ_0(ξ) dz. The weight 1/ψ_0 grows like e^{ξ²/2}, so this is good for
    /// densities narrower than the basis' Gaussian (an initial condition), not in general.
    public func state(fromDensity density: [Double]) -> [Double] {
        let d = grid.dimension
        let degree = (modes.max() ?? 1) - 1
        var table = [Double](repeating: 0, count: d * (degree + 1))
        var z = [Double](repeating: 0, count: d)
        var state = [Double](repeating: 0, count: stateCount)
        for c in 0..<grid.cellCount {
            psi(cell: c, degree: degree, z: &z, into: &table)
            var weight = grid.cellVolume * density[c]
            for k in 0..<d { weight /= table[k * (degree + 1)] }
            guard weight.isFinite else { continue }
            for (p, n) in indices.enumerated() {
                var product = weight
                for k in 0..<d { product *= table[k * (degree + 1) + n[k]] }
                state[p] += product
            }
        }
        return state
    }

    /// The coefficients of the Gaussian N(mean, covariance), exactly. In ξ it is N(m, C) with
    /// m = T⁻¹(mean − c), C = T⁻¹ covariance T⁻ᵀ, and a_n = E[He_n(ξ)] / √n! (orthogonality of
    /// He_n under the weight ψ_0). The generating function Σ_n E[He_n] tⁿ/n! = exp(tᵀm + ½tᵀ(C − I)t)
    /// gives, with B = C − I and any axis i with n_i ≥ 1,
    ///
    ///     a_n = ( m_i a_{n−e_i} + Σ_j B_ij √((n − e_i)_j) a_{n−e_i−e_j} ) / √n_i,   a_0 = 1.
    ///
    /// The series converges when C < 2I (a Gaussian wider than √2 × the basis diverges, as in
    /// `decodeDiscretization`), geometrically at the rate of the largest |eigenvalue of B|^{1/2}
    /// and faster for the mean's part (mⁿ/√n!).
    public func gaussianState(mean: [Double], covariance: Matrix) throws -> [Double] {
        let m = inverseTransform * zip(mean, centre).map { $0 - $1 }
        let c = inverseTransform * covariance * inverseTransform.transposed
        try Self.checkGaussianConverges(c, units: "the Hermite basis' units (ξ = T⁻¹(z − centre))")
        return Self.gaussianCoefficients(indices: indices, find: find, mean: m.map { Complex(re: $0, im: 0) },
                                         b: c - Matrix.identity(grid.dimension)).map(\.re)
    }

    /// The Hermite series of a Gaussian of covariance C (in ξ units) converges only for
    /// 0 < eigenvalues < 2: one wider than √2 × the basis diverges.
    static func checkGaussianConverges(_ c: Matrix, units: String) throws {
        let spread = try c.symmetricEigenvalues()
        guard let widest = spread.max(), let narrowest = spread.min(), widest < 2, narrowest > 0 else {
            throw FokkerPlanckError.badInput(file: nil, keyPath: "evolve.initial.covariance", line: nil, message: String(format:
                "in %@ the initial covariance has eigenvalues %.4g…%.4g; its Hermite series converges only for 0 < eigenvalues < 2 (a Gaussian wider than √2 × the basis diverges): narrow it, or widen the basis with discretization.scale",
                units, spread.min() ?? .nan, spread.max() ?? .nan))
        }
    }

    /// a_n for the kept `indices` (ψ_0 first) by the recursion above, a_0 = 1, B = C − I. The mean
    /// may be complex: E[e^{−iκ·x} He_n(ξ)] of a Gaussian over (x, ξ) is the same recursion with
    /// m̃ = m_ξ − i C_ξx κ (`LangevinSpectralDiscretization.initialState`).
    static func gaussianCoefficients(indices: [[Int]], find: ([Int]) -> Int?, mean: [Complex], b: Matrix) -> [Complex] {
        let zero = Complex(re: 0, im: 0)
        var a = [Complex](repeating: zero, count: indices.count)
        a[0] = Complex(re: 1, im: 0)
        for (p, n) in indices.enumerated() where p > 0 {
            let i = n.firstIndex { $0 > 0 }!
            var lower = n; lower[i] -= 1
            var value = mean[i] * (find(lower).map { a[$0] } ?? zero)
            for j in 0..<n.count where lower[j] > 0 && b[i, j] != 0 {
                var lowest = lower; lowest[j] -= 1
                value = value + (find(lowest).map { a[$0] } ?? zero).scaled(by: b[i, j] * Double(lower[j]).squareRoot())
            }
            a[p] = value.scaled(by: 1 / Double(n[i]).squareRoot())
        }
        return a
    }

    /// A Gaussian initial condition is expanded exactly (`gaussianState`); the others have no
    /// Hermite series worth the name (a uniform density has no mass on the whole space, a delta
    /// none that converges) or come sampled on the output grid (a file), which would cost the
    /// spectral accuracy — refused with the way out.
    public func initialState(_ initial: EvolveSettings.InitialCondition) throws -> (state: [Double], startTime: Double) {
        switch initial {
        case let .gaussian(mean, covariance):
            return (try gaussianState(mean: mean, covariance: covariance), 0)
        case .uniform, .delta, .file:
            throw FokkerPlanckError.badInput(file: nil, keyPath: "evolve.initial.type", line: nil,
                message: "the Hermite basis expands a gaussian initial condition exactly; uniform, delta and file ones have no convergent or exact expansion — give a gaussian (a narrow one for a point), or use type = \"finite-volume\"")
        }
    }

    /// J(z) = T J_ξ(ξ) / |det T|, J_ξ,i = (b_i − Σ_j A′_ij ξ_j) ρ_ξ − Σ_j D′_ij ∂_{ξ_j} ρ_ξ from the expansion:
    /// ξ_j ψ_n = √(n_j+1) ψ_{n+e_j} + √n_j ψ_{n−e_j} and ∂_{ξ_j} ψ_n = −√(n_j+1) ψ_{n+e_j}.
    public func currents(of state: [Double]) -> [[Double]] {
        let d = grid.dimension
        let inXi: [[Double]] = (0..<d).map { i in
            var terms: [([Int], Double)] = []
            for (n, a) in zip(indices, state) where a != 0 {
                if driftOffset[i] != 0 { terms.append((n, a * driftOffset[i])) }
                for j in 0..<d {
                    let drift = -driftPrime[i, j], noise = diffusionPrime[i, j]
                    var up = n; up[j] += 1
                    terms.append((up, a * (drift + noise) * Double(n[j] + 1).squareRoot()))
                    if n[j] > 0 && drift != 0 {
                        var down = n; down[j] -= 1
                        terms.append((down, a * drift * Double(n[j]).squareRoot()))
                    }
                }
            }
            return evaluate(terms)
        }
        return (0..<d).map { i in
            (0..<grid.cellCount).map { c in (0..<d).reduce(0) { $0 + transform[i, $1] * inXi[$1][c] } / jacobian }
        }
    }

    /// Mass, mean and covariance from the coefficients (exact for the expansion); the minimum
    /// from the density on the output grid.
    public func diagnostics(of state: [Double], density: [Double]) -> FrameDiagnostics {
        let d = grid.dimension
        let mass = self.mass(of: state)
        func coefficient(_ n: [Int]) -> Double { find(n).map { state[$0] } ?? 0 }
        let zero = [Int](repeating: 0, count: d)
        let a0 = state[0]
        var e = [Double](repeating: 0, count: d)  // E[ξ_i]
        for i in 0..<d { var n = zero; n[i] = 1; e[i] = coefficient(n) / a0 }
        var second = [Double](repeating: 0, count: d * d)  // Cov[ξ]
        for i in 0..<d {
            for j in 0..<d {
                var moment: Double
                if i == j {
                    var n = zero; n[i] = 2
                    moment = (a0 + 2.0.squareRoot() * coefficient(n)) / a0
                } else {
                    var n = zero; n[i] = 1; n[j] = 1
                    moment = coefficient(n) / a0
                }
                second[i * d + j] = moment - e[i] * e[j]
            }
        }
        // z = c + T ξ: mean c + T E[ξ], covariance T Cov[ξ] Tᵀ.
        let mean = (0..<d).map { i in centre[i] + (0..<d).reduce(0) { $0 + transform[i, $1] * e[$1] } }
        let covarianceXi = Matrix(rows: d, columns: d, elements: second)
        let covariance = (transform * covarianceXi * transform.transposed).elements
        return FrameDiagnostics(mass: mass, mean: mean, covariance: covariance, minimum: density.min() ?? 0)
    }

    public var spectralRecord: SpectralRecord? {
        SpectralRecord(basis: Array(repeating: "hermite", count: grid.dimension), modes: modes,
                       attributes: [("spectral_centre", .doubles(centre)), ("spectral_transform", .doubles(transform.elements))],
                       indices: indices,
                       expansion: "coefficients a_n of ρ_ξ = Σ a_n Π ψ_{n_i}(ξ_i), ψ_k = He_k e^{−ξ²/2}/(√(2π) √k!), ξ = T⁻¹(z − centre), T = spectral_transform (row-major); ρ(z) = ρ_ξ / |det T|")
    }

    /// The coefficients of the top 4 total degrees, evaluated: the expansion's tail, whose size
    /// estimates the truncation error (the truncated system gives the exact coefficients up to
    /// its degree, so what is missing is the series beyond it).
    public func truncationTail(of state: [Double]) -> [Double]? {
        let degree = (modes.max() ?? 1) - 1
        guard degree >= 6 else { return nil }
        return evaluate(zip(indices, state).compactMap { n, a in n.reduce(0, +) > degree - 4 ? (n, a / jacobian) : nil })
    }

    public var unknownsAreCells: Bool { false }
    public var resolution: [Int] { modes }

    /// Half the modes per axis: the error estimate's comparison (nil below 6, where half would
    /// drop the degree-2 coefficients).
    public func coarsened() -> (any Discretization)? {
        guard modes.allSatisfy({ $0 >= 6 }) else { return nil }
        return try? HermiteDiscretization(model: linear, grid: grid, modes: modes.map { $0 / 2 }, centre: centre, transform: transform)
    }

    public func shiftedPreconditioning() throws -> (any ShiftedPreconditioning)? { nil }

    public var methodDescription: String {
        "Hermite spectral (modes \(modes.map(String.init).joined(separator: "×")), \(stateCount) coefficients of total degree ≤ \((modes.max() ?? 1) - 1); centre \(centre), ξ = T⁻¹(z − centre) with T = \(transform.elements))"
    }
}

/// A complex number, for the Fourier side of the spectral bases (no arithmetic library needed
/// beyond these three operations).
struct Complex {
    var re: Double, im: Double
    static func * (a: Complex, b: Complex) -> Complex { Complex(re: a.re * b.re - a.im * b.im, im: a.re * b.im + a.im * b.re) }
    static func + (a: Complex, b: Complex) -> Complex { Complex(re: a.re + b.re, im: a.im + b.im) }
    func scaled(by s: Double) -> Complex { Complex(re: re * s, im: im * s) }
}
