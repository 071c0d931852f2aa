import Foundation

/// Spectral discretization of Langevin dynamics (Kramers' equation) on a ring or torus: Fourier
/// on the periodic positions, Hermite functions on the velocities (issue 10) — the natural
/// basis of Risken's matrix-continued-fraction treatment.
///
/// With ξ_j = v_j / s_j (s_j the velocity scale, default the thermal √(T/m)) the density is
///
///     ρ(x, v) = Σ_{a,n} c_{a,n} φ_a(x) ψ_n(ξ) / Π s_j,
///
/// φ_a = Π_j φ_{a_j}(θ_j) the tensor real Fourier basis (φ_0 = 1, φ_{2k−1} = cos kθ,
/// φ_{2k} = sin kθ, θ_j = 2π(x_j − lower_j)/L_j, |k| ≤ K_j with 2K_j + 1 ≤ modes_j), ψ_n the
/// Hermite functions of `HermiteDiscretization` (total degree below the velocity modes). With
/// g = γ/m and D_ξ = γT/(m² s²) the generator is
///
///     L = −Σ_j s_j ξ_j ∂_{x_j} + Σ_j (∂_jU/(m s_j)) ∂_{ξ_j} + g Σ_j ∂_{ξ_j} ξ_j + D_ξ Σ_j ∂²_{ξ_j}:
///
/// the velocity part is diagonal (−g n) at the thermal scale, transport couples n ± e_j through
/// the diagonal-in-k derivative, and the force couples n + e_j through multiplication by ∂_jU —
/// a convolution with its Fourier coefficients (`FourierSeries`, FFTW), banded for a
/// trigonometric potential (cos x: k ± 1) and sparse for a smooth one. Only the force enters,
/// so a tilted periodic potential (U = cos x − F x, a periodic force) is fine.
///
/// Mass: c_{0,0} Π L_j (the constant mode, ψ_0); the stationary solve pins it. Moments from the
/// coefficients exactly (the integrals of u, u² against cos and sin in closed form).
public struct LangevinSpectralDiscretization: Discretization {
    public let langevin: LangevinModel
    public var model: any DriftDiffusionModel { langevin }
    public let grid: Grid
    /// Per axis: Fourier modes on the positions, Hermite modes on the velocities.
    public let modes: [Int]
    /// The velocity scales s_j (ξ = v / s).
    public let scale: [Double]
    /// Highest wavenumber K_j per position axis, and 2K_j + 1.
    let wavenumbers: [Int]
    let sizes: [Int]
    /// Number of position basis functions, Π (2K_j + 1).
    let positionCount: Int
    /// The kept velocity multi-indices (total degree first) and their positions.
    public let velocityIndices: [[Int]]
    let velocityPosition: [Int: Int]
    /// For each position axis j, multiplication by ∂_jU as columns: column p → [(row, value)].
    let forceColumns: [[[(Int, Double)]]]
    let lengths: [Double]
    let lowers: [Double]

    var q: Int { langevin.positionCount }

    public init(model: LangevinModel, grid: Grid, modes: [Int], scale: [Double]? = nil) throws {
        let q = model.positionCount
        precondition(grid.dimension == 2 * q && modes.count == 2 * q)
        langevin = model
        self.grid = grid
        self.modes = modes
        let thermal = (model.temperature / model.mass).squareRoot()
        self.scale = scale ?? Array(repeating: thermal, count: q)
        guard modes[q...].allSatisfy({ $0 >= 3 }), modes[..<q].allSatisfy({ $0 >= 3 }) else {
            throw FokkerPlanckError.badInput(file: nil, keyPath: "discretization.modes", line: nil,
                message: "every axis needs at least 3 modes (a Fourier axis cos and sin of k = 1; a Hermite axis degree 2), found \(modes)")
        }
        wavenumbers = modes[..<q].map { ($0 - 1) / 2 }
        sizes = wavenumbers.map { 2 * $0 + 1 }
        positionCount = sizes.reduce(1, *)
        lengths = (0..<q).map { grid.axes[$0].length }
        lowers = (0..<q).map { grid.axes[$0].lower }
        // Velocity multi-indices of total degree below the largest velocity modes, n_j < modes_j.
        (velocityIndices, velocityPosition) = HermiteDiscretization.totalDegreeSet(Array(modes[q...]))
        // The force's Fourier series: products reach |k + m| ≤ K, so |m| ≤ 2K matters.
        let lower = lowers, upper = (0..<q).map { grid.axes[$0].upper }
        var columns: [[[(Int, Double)]]] = []
        let sizes = self.sizes, wavenumbers = self.wavenumbers
        for j in 0..<q {
            let gradient = model.gradient[j]
            guard let series = FourierSeries(lower: lower, upper: upper, bound: wavenumbers.map { 2 * $0 }, { gradient.evaluate($0) }) else {
                throw FokkerPlanckError.badInput(file: nil, keyPath: "model.potential", line: nil, message:
                    "the force −∂U/∂\(grid.axes[j].name) is not smooth and periodic on the box (its Fourier series does not converge on 2²² points), so the Fourier basis cannot expand it; make U's gradient periodic on [\(grid.axes[j].lower), \(grid.axes[j].upper)), or use type = \"finite-volume\"")
            }
            columns.append((0..<sizes.reduce(1, *)).map { p in
                Self.multiply(position: p, sizes: sizes, wavenumbers: wavenumbers, by: series.terms)
            })
        }
        forceColumns = columns
    }

    // MARK: Index maps

    var velocityModes: [Int] { Array(modes[q...]) }

    func velocityIndex(_ n: [Int]) -> Int? {
        for k in 0..<n.count where n[k] < 0 || n[k] >= modes[q + k] { return nil }
        return velocityPosition[HermiteDiscretization.key(n, velocityModes)]
    }

    static func positionMultiIndex(_ p: Int, sizes: [Int]) -> [Int] {
        var a = [Int](repeating: 0, count: sizes.count), rest = p
        for j in stride(from: sizes.count - 1, through: 0, by: -1) { a[j] = rest % sizes[j]; rest /= sizes[j] }
        return a
    }

    static func positionFlat(_ a: [Int], sizes: [Int]) -> Int {
        var p = 0
        for j in 0..<sizes.count { p = p * sizes[j] + a[j] }
        return p
    }

    /// Unknown of (velocity index h, position p): velocity-major, so that (ψ_0, 1) is unknown 0.
    func unknown(_ h: Int, _ p: Int) -> Int { h * positionCount + p }

    public var stateCount: Int { velocityIndices.count * positionCount }
    public var preferredPin: Int? { 0 }
    public var unknownsAreCells: Bool { false }
    public var resolution: [Int] { modes }

    // MARK: Real Fourier algebra

    /// A tensor real basis function as complex exponentials: (wave vector, coefficient).
    static func exponentials(of a: [Int]) -> [([Int], Complex)] {
        var terms: [([Int], Complex)] = [([], Complex(re: 1, im: 0))]
        for aj in a {
            let k = (aj + 1) / 2
            let factors: [(Int, Complex)] = aj == 0 ? [(0, Complex(re: 1, im: 0))]
                : aj % 2 == 1 ? [(k, Complex(re: 0.5, im: 0)), (-k, Complex(re: 0.5, im: 0))]
                              : [(k, Complex(re: 0, im: -0.5)), (-k, Complex(re: 0, im: 0.5))]
            terms = terms.flatMap { (m, c) in factors.map { (m + [$0.0], c * $0.1) } }
        }
        return terms
    }

    /// e^{i t·θ} in the tensor real basis: (multi-index a, coefficient); a real function's
    /// coefficients are the real parts of the sums.
    static func realBasis(of t: [Int]) -> [([Int], Complex)] {
        var terms: [([Int], Complex)] = [([], Complex(re: 1, im: 0))]
        for tj in t {
            let k = abs(tj)
            let factors: [(Int, Complex)] = tj == 0 ? [(0, Complex(re: 1, im: 0))]
                : [(2 * k - 1, Complex(re: 1, im: 0)), (2 * k, Complex(re: 0, im: tj > 0 ? 1 : -1))]
            terms = terms.flatMap { (a, c) in factors.map { (a + [$0.0], c * $0.1) } }
        }
        return terms
    }

    /// Column p of multiplication by g = Σ ĝ_m e^{im·θ}, truncated to |k_j| ≤ K_j.
    static func multiply(position p: Int, sizes: [Int], wavenumbers: [Int],
                         by series: [(m: [Int], value: (re: Double, im: Double))]) -> [(Int, Double)] {
        var column: [Int: Double] = [:]
        let a = positionMultiIndex(p, sizes: sizes)
        for (k, beta) in exponentials(of: a) {
            for term in series {
                let t = zip(k, term.m).map { $0 + $1 }
                guard zip(t, wavenumbers).allSatisfy({ abs($0) <= $1 }) else { continue }
                let w = beta * Complex(re: term.value.re, im: term.value.im)
                for (b, c) in realBasis(of: t) {
                    column[positionFlat(b, sizes: sizes), default: 0] += (w * c).re
                }
            }
        }
        let largest = column.values.reduce(0) { max($0, abs($1)) }
        return column.filter { abs($0.value) > 1e-15 * largest }.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    /// ∂/∂x_j of position basis function p: (row, value) (at most one term).
    func derivative(position p: Int, axis j: Int) -> (Int, Double)? {
        var a = Self.positionMultiIndex(p, sizes: sizes)
        guard a[j] > 0 else { return nil }
        let k = (a[j] + 1) / 2
        let omega = 2 * Double.pi * Double(k) / lengths[j]
        if a[j] % 2 == 1 { a[j] += 1; return (Self.positionFlat(a, sizes: sizes), -omega) }  // cos → −ω sin
        a[j] -= 1
        return (Self.positionFlat(a, sizes: sizes), omega)  // sin → ω cos
    }

    // MARK: Generator

    public func assemble() -> SparseMatrix {
        let g = langevin.friction / langevin.mass
        let noise = (0..<q).map { langevin.friction * langevin.temperature / (langevin.mass * langevin.mass * scale[$0] * scale[$0]) }
        var triplets: [(row: Int, column: Int, value: Double)] = []
        for (h, n) in velocityIndices.enumerated() {
            for p in 0..<positionCount {
                let column = unknown(h, p)
                func add(_ m: [Int], _ row: Int, _ value: Double) {
                    if value != 0, let hm = velocityIndex(m) { triplets.append((unknown(hm, row), column, value)) }
                }
                for j in 0..<q {
                    var up = n; up[j] += 1
                    var upUp = up; upUp[j] += 1
                    var down = n; down[j] -= 1
                    // g ∂ξ + D_ξ ∂²: −g n_j ψ_n + (D_ξ − g) √((n_j+1)(n_j+2)) ψ_{n+2e_j}
                    add(n, p, -g * Double(n[j]))
                    add(upUp, p, (noise[j] - g) * (Double(n[j] + 1) * Double(n[j] + 2)).squareRoot())
                    // −s ξ_j ∂_{x_j}
                    if let (row, value) = derivative(position: p, axis: j) {
                        add(up, row, -scale[j] * Double(n[j] + 1).squareRoot() * value)
                        if n[j] > 0 { add(down, row, -scale[j] * Double(n[j]).squareRoot() * value) }
                    }
                    // (∂_jU/(m s_j)) ∂_{ξ_j}: ∂ψ_n = −√(n_j+1) ψ_{n+e_j}
                    let factor = -Double(n[j] + 1).squareRoot() / (langevin.mass * scale[j])
                    for (row, value) in forceColumns[j][p] { add(up, row, factor * value) }
                }
            }
        }
        // The diagonal collects one term per velocity axis: the repeated entries add up.
        return SparseMatrix(rows: stateCount, columns: stateCount, triplets: triplets)
    }

    // MARK: Mass, evaluation, moments

    /// ∫ρ = c_{0,0} Π L_j.
    public func mass(of state: [Double]) -> Double { state[0] * lengths.reduce(1, *) }

    /// Positions are periodic on the box (all their mass is in it); the velocity v_j = s_j ξ_j
    /// keeps, after integrating out the positions (the constant mode, × Π L) and the other
    /// velocities (∫ψ_n = δ_{n0}), the coefficients of the pure degrees m e_j.
    public func axisMarginals(of state: [Double]) -> [AxisMarginal]? {
        let totalLength = lengths.reduce(1, *)
        let positions = (0..<q).map { _ in AxisMarginal(centre: 0, width: nil, coefficients: [mass(of: state)]) }
        let velocities = (0..<q).map { j in
            let b = (0..<modes[q + j]).map { m -> Double in
                var n = [Int](repeating: 0, count: q); n[j] = m
                return velocityIndex(n).map { state[unknown($0, 0)] * totalLength } ?? 0
            }
            return AxisMarginal(centre: 0, width: scale[j], coefficients: b)
        }
        return positions + velocities
    }

    /// Σ over (velocity term list per (h, p)) at the output grid, / Π s.
    /// `terms` gives, for every unknown's coefficient, velocity multi-indices and factors.
    func evaluate(_ velocityTerms: (_ n: [Int]) -> [([Int], Double)], state: [Double], extraDegree: Int) -> [Double] {
        let vSizes = (0..<q).map { modes[q + $0] + extraDegree }
        let sizes = self.sizes + vSizes
        var dense = [Double](repeating: 0, count: sizes.reduce(1, *))
        let vStride = vSizes.reduce(1, *)
        for (h, n) in velocityIndices.enumerated() {
            for (m, factor) in velocityTerms(n) {
                guard m.allSatisfy({ $0 >= 0 }), zip(m, vSizes).allSatisfy({ $0 < $1 }) else { continue }
                var vFlat = 0
                for j in 0..<q { vFlat = vFlat * vSizes[j] + m[j] }
                for p in 0..<positionCount {
                    let c = state[unknown(h, p)]
                    if c != 0 { dense[p * vStride + vFlat] += factor * c }
                }
            }
        }
        let positions = q, lowers = self.lowers, lengths = self.lengths, scale = self.scale
        let evaluation = TensorEvaluation(grid: grid, sizes: sizes) { k, z, _, values in
            if k < positions {
                let theta = 2 * Double.pi * (z - lowers[k]) / lengths[k]
                values[0] = 1
                var index = 1
                while index < values.count {
                    let wave = Double((index + 1) / 2) * theta
                    values[index] = cos(wave)
                    values[index + 1] = sin(wave)
                    index += 2
                }
                return theta
            }
            let xi = z / scale[k - positions]
            HermiteDiscretization.hermiteFunctions(xi, into: &values)
            return xi
        }
        let jacobian = scale.reduce(1, *)
        return evaluation.evaluate(dense).map { $0 / jacobian }
    }

    public func density(of state: [Double]) -> [Double] {
        evaluate({ [($0, 1)] }, state: state, extraDegree: 0)
    }

    /// J_x = v ρ; J_v = (−(γ v + ∂U)/m) ρ − D_vv ∂_v ρ, from ξψ_n, ψ_n and ∂_ξψ_n, with ∂U at
    /// the cell centres.
    public func currents(of state: [Double]) -> [[Double]] {
        let g = langevin.friction / langevin.mass
        let dvv = langevin.friction * langevin.temperature / (langevin.mass * langevin.mass)
        let rho = density(of: state)
        var result: [[Double]] = []
        var xiRho: [[Double]] = []
        for j in 0..<q {
            xiRho.append(evaluate({ n in
                var up = n; up[j] += 1
                var down = n; down[j] -= 1
                return [(up, Double(n[j] + 1).squareRoot()), (down, Double(n[j]).squareRoot())]
            }, state: state, extraDegree: 1))
        }
        for j in 0..<q { result.append(xiRho[j].map { $0 * scale[j] }) }
        var z = [Double](repeating: 0, count: grid.dimension)
        for j in 0..<q {
            let dRho = evaluate({ n in var up = n; up[j] += 1; return [(up, -Double(n[j] + 1).squareRoot())] }, state: state, extraDegree: 1)
            let gradient = langevin.gradient[j]
            result.append((0..<grid.cellCount).map { c in
                grid.centre(c, into: &z)
                let force = gradient.evaluate(Array(z[0..<q]))
                return -g * scale[j] * xiRho[j][c] - force / langevin.mass * rho[c] - dvv / scale[j] * dRho[c]
            })
        }
        return result
    }

    /// ∫ u^e φ_a du over one period (u = x − lower), e = 0, 1, 2.
    func positionIntegral(_ a: Int, power e: Int, axis j: Int) -> Double {
        let l = lengths[j]
        let k = Double((a + 1) / 2)
        switch (e, a) {
        case (0, 0): return l
        case (0, _): return 0
        case (1, 0): return l * l / 2
        case (2, 0): return l * l * l / 3
        case (1, _): return a % 2 == 1 ? 0 : -l * l / (2 * Double.pi * k)
        default: return a % 2 == 1 ? l * l * l / (2 * Double.pi * Double.pi * k * k) : -l * l * l / (2 * Double.pi * k)
        }
    }

    public func diagnostics(of state: [Double], density: [Double]) -> FrameDiagnostics {
        let d = grid.dimension
        let mass = self.mass(of: state)
        // E[f] for f a product of at most two coordinates (positions as u = x − lower, velocities
        // as ξ), from the coefficients: Σ_{a,n} c · Π_j ∫u_j^{e_j} φ_{a_j} · ∫ξ^{f} ψ_n.
        func raw(_ powers: [Int]) -> Double {
            let vPowers = Array(powers[q...])
            // ∫ ξ^f ψ_n dξ is nonzero for n = f (product √f_j!) and, for f_j = 2, also n_j = 0.
            var candidates: [([Int], Double)] = [([Int](repeating: 0, count: q), 1)]
            for j in 0..<q {
                candidates = candidates.flatMap { (n, w) -> [([Int], Double)] in
                    switch vPowers[j] {
                    case 0: return [(n, w)]
                    case 1: var m = n; m[j] = 1; return [(m, w)]
                    default:
                        var m = n; m[j] = 2
                        var z = n; z[j] = 0
                        return [(m, w * 2.0.squareRoot()), (z, w)]
                    }
                }
            }
            var sum = 0.0
            for (n, w) in candidates {
                guard let h = velocityIndex(n) else { continue }
                for p in 0..<positionCount {
                    let c = state[unknown(h, p)]
                    if c == 0 { continue }
                    let a = Self.positionMultiIndex(p, sizes: sizes)
                    var product = w * c
                    for j in 0..<q where product != 0 { product *= positionIntegral(a[j], power: powers[j], axis: j) }
                    sum += product
                }
            }
            return sum
        }
        let zero = [Int](repeating: 0, count: d)
        // Coordinates: positions u_j + lower_j, velocities s_j ξ_j.
        func coordinateScale(_ i: Int) -> Double { i < q ? 1 : scale[i - q] }
        var mean = [Double](repeating: 0, count: d)
        for i in 0..<d {
            var e = zero; e[i] = 1
            mean[i] = raw(e) / mass * coordinateScale(i)
        }
        var covariance = [Double](repeating: 0, count: d * d)
        for i in 0..<d {
            for j in i..<d {
                var e = zero; e[i] += 1; e[j] += 1
                let second = raw(e) / mass * coordinateScale(i) * coordinateScale(j)
                covariance[i * d + j] = second - mean[i] * mean[j]
                covariance[j * d + i] = covariance[i * d + j]
            }
        }
        for i in 0..<q { mean[i] += lowers[i] }
        return FrameDiagnostics(mass: mass, mean: mean, covariance: covariance, minimum: density.min() ?? 0)
    }

    // MARK: Initial states

    /// Quadrature of the density on the output grid (midpoint rule): second order, for the error
    /// estimate's fallback only; a Gaussian start is expanded exactly (`initialState`).
    public func state(fromDensity density: [Double]) -> [Double] {
        var state = [Double](repeating: 0, count: stateCount)
        var z = [Double](repeating: 0, count: grid.dimension)
        let degree = velocityModes.max()! - 1
        var psi = [Double](repeating: 0, count: degree + 1)
        let norms = (0..<positionCount).map { p in
            Self.positionMultiIndex(p, sizes: sizes).enumerated().reduce(1.0) { $0 * ($1.element == 0 ? lengths[$1.offset] : lengths[$1.offset] / 2) }
        }
        for c in 0..<grid.cellCount {
            grid.centre(c, into: &z)
            var ratios: [[Double]] = []
            for j in 0..<q {
                HermiteDiscretization.hermiteFunctions(z[q + j] / scale[j], into: &psi)
                ratios.append(psi.map { $0 / psi[0] })
            }
            let weight = grid.cellVolume * density[c]
            guard weight.isFinite, ratios.allSatisfy({ $0.allSatisfy(\.isFinite) }) else { continue }
            for p in 0..<positionCount {
                let a = Self.positionMultiIndex(p, sizes: sizes)
                var phi = 1.0
                for j in 0..<q {
                    let theta = 2 * Double.pi * (z[j] - lowers[j]) / lengths[j], k = Double((a[j] + 1) / 2)
                    phi *= a[j] == 0 ? 1 : a[j] % 2 == 1 ? cos(k * theta) : sin(k * theta)
                }
                for (h, n) in velocityIndices.enumerated() {
                    var product = weight * phi / norms[p]
                    for j in 0..<q { product *= ratios[j][n[j]] }
                    state[unknown(h, p)] += product
                }
            }
        }
        return state
    }

    /// A Gaussian N(μ, C) over (x, v), wrapped on the periodic positions, exactly: with
    /// κ_j = 2πk_j/L_j the complex coefficient of e^{ik·θ} ψ_n is
    ///
    ///     e^{iκ·lower} e^{−iκ·μ_x − ½κᵀC_xxκ} / Π L_j × a_n(m̃),   m̃ = m_ξ − i C_ξx κ,
    ///
    /// a_n the Hermite recursion of `HermiteDiscretization.gaussianState` with the complex mean
    /// m̃ and B = C_ξξ − I (the generating function E[e^{−iκ·x} e^{t·ξ − |t|²/2}]).
    public func initialState(_ initial: EvolveSettings.InitialCondition) throws -> (state: [Double], startTime: Double) {
        guard case let .gaussian(mean, covariance) = initial else {
            throw FokkerPlanckError.badInput(file: nil, keyPath: "evolve.initial.type", line: nil,
                message: "the Fourier × Hermite basis expands a gaussian initial condition exactly; uniform, delta and file ones are not expanded — give a gaussian (a narrow one for a point), or use type = \"finite-volume\"")
        }
        var cXi = Matrix(rows: q, columns: q)
        for i in 0..<q { for j in 0..<q { cXi[i, j] = covariance[q + i, q + j] / (scale[i] * scale[j]) } }
        try HermiteDiscretization.checkGaussianConverges(cXi, units: "the velocity basis' units (ξ = v/s)")
        let b = cXi - Matrix.identity(q)
        let mXi = (0..<q).map { mean[q + $0] / scale[$0] }
        var state = [Double](repeating: 0, count: stateCount)
        let totalLength = lengths.reduce(1, *)
        // Every wave vector |k_j| ≤ K_j.
        let count = wavenumbers.map { 2 * $0 + 1 }.reduce(1, *)
        for flat in 0..<count {
            var k = [Int](repeating: 0, count: q), rest = flat
            for j in stride(from: q - 1, through: 0, by: -1) { k[j] = rest % (2 * wavenumbers[j] + 1) - wavenumbers[j]; rest /= 2 * wavenumbers[j] + 1 }
            let kappa = (0..<q).map { 2 * Double.pi * Double(k[$0]) / lengths[$0] }
            var phase = 0.0, decay = 0.0
            for i in 0..<q {
                phase += kappa[i] * (lowers[i] - mean[i])
                for j in 0..<q { decay += kappa[i] * covariance[i, j] * kappa[j] }
            }
            let amplitude = exp(-0.5 * decay) / totalLength
            if amplitude < 1e-300 { continue }
            let prefactor = Complex(re: amplitude * cos(phase), im: amplitude * sin(phase))
            // m̃_i = m_ξ,i − i Σ_j C_{ξ_i x_j} κ_j
            let meanTilde = (0..<q).map { i in
                Complex(re: mXi[i], im: -(0..<q).reduce(0) { $0 + covariance[q + i, $1] / scale[i] * kappa[$1] })
            }
            let a = HermiteDiscretization.gaussianCoefficients(indices: velocityIndices, find: velocityIndex, mean: meanTilde, b: b)
            let basis = Self.realBasis(of: k)
            for (h, coefficient) in a.enumerated() {
                let w = prefactor * coefficient
                for (positionIndex, c) in basis {
                    state[unknown(h, Self.positionFlat(positionIndex, sizes: sizes))] += (w * c).re
                }
            }
        }
        return (state, 0)
    }

    // MARK: Resolution and output

    public func coarsened() -> (any Discretization)? {
        guard modes.allSatisfy({ $0 >= 6 }) else { return nil }
        return try? LangevinSpectralDiscretization(model: langevin, grid: grid, modes: modes.map { $0 / 2 }, scale: scale)
    }

    public func shiftedPreconditioning() throws -> (any ShiftedPreconditioning)? { nil }

    public var methodDescription: String {
        "Fourier × Hermite spectral (modes \(modes.map(String.init).joined(separator: "×")): wavenumbers |k| ≤ \(wavenumbers) on the positions, velocity Hermite functions of total degree ≤ \(velocityModes.max()! - 1) at scale \(scale); \(stateCount) coefficients)"
    }

    public var spectralRecord: SpectralRecord? {
        // Multi-index per unknown: position basis index a_j (0: 1, 2k−1: cos kθ, 2k: sin kθ), then n_j.
        var indices: [[Int]] = []
        indices.reserveCapacity(stateCount)
        for n in velocityIndices { for p in 0..<positionCount { indices.append(Self.positionMultiIndex(p, sizes: sizes) + n) } }
        return SpectralRecord(basis: Array(repeating: "fourier", count: q) + Array(repeating: "hermite", count: q), modes: modes,
                              attributes: [("spectral_scale", .doubles(scale))], indices: indices,
                              expansion: "coefficients c_{a,n} of ρ = Σ c Π_j φ_{a_j}(θ_j) Π_j ψ_{n_j}(v_j/s_j) / Π s_j; φ_0 = 1, φ_{2k−1} = cos kθ, φ_{2k} = sin kθ, θ = 2π(x − lower)/L; ψ_k = He_k e^{−ξ²/2}/(√(2π) √k!); s = spectral_scale")
    }
}
