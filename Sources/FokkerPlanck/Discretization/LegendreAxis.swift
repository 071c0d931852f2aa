import Foundation
import CFFTW

/// One bounded axis of `LegendreDiscretization`: [lower, upper] mapped to ξ ∈ [−1, 1]
/// (z = mid + half·ξ), its walls, and its Galerkin basis — polynomials of degree < `modes`, in the
/// integrated-Legendre ("modal", hp-FEM) functions
///
///     φ_0 = 1,  φ_1 = ξ,  φ_k = (P_k − P_{k−2}) / √(2(2k − 1))  (k ≥ 2; φ_k′ = √((2k − 1)/2) P_{k−1}),
///
/// The bubbles φ_k (k ≥ 2) vanish at both ends; an absorbing wall (ρ = 0) is imposed exactly by
/// keeping only the functions that vanish there: φ_0, φ_1 give way to (1 + ξ)/2 (lower wall
/// absorbing), (1 − ξ)/2 (upper wall absorbing), or nothing (both). A reflecting wall needs no
/// function removed: zero normal flux is the natural condition of the weak form.
///
/// The Legendre orthogonality makes every one-axis matrix of the weak form banded: the mass
/// ∫φ_pφ_q (|p − q| ∈ {0, 2}), ∫φ_p ξ φ_q (|p − q| ∈ {1, 3}), ∫φ_p′φ_q (q = p ± 1), ∫φ_p′ ξ φ_q
/// (|p − q| ∈ {0, 2}) and ∫φ_p′φ_q′ (diagonal on the bubbles) — so the d-axis operators, Kronecker
/// products of them, stay sparse.
///
/// A periodic axis (`fourier`) shares the ξ map and every use of the basis but is a Fourier one:
/// φ_0 = 1, φ_{2k−1} = cos(kπ(ξ + 1)), φ_{2k} = sin(kπ(ξ + 1)) for k ≤ K = ⌊(modes − 1)/2⌋ (as the
/// Langevin Fourier axes count their modes), orthogonal on [−1, 1) — diagonal mass 2, 1, 1, … — and
/// with no wall: ∫φ′J has no boundary term on a circle. It serves the expression models only
/// (`LegendreQuadrature`): a linear drift is not periodic.
struct LegendreAxis: Sendable {
    /// Labels of the basis functions: 0 → 1, 1 → ξ, −1 → (1 − ξ)/2, −2 → (1 + ξ)/2, k ≥ 2 → bubble φ_k;
    /// on a periodic axis the position ℓ (0 → 1, 2k − 1 → cos, 2k → sin of kπ(ξ + 1)).
    let labels: [Int]
    let modes: Int
    let lower: Double, upper: Double
    let lowerAbsorbing: Bool, upperAbsorbing: Bool
    /// A Fourier axis on [lower, upper), periodic.
    let periodic: Bool

    var mid: Double { 0.5 * (lower + upper) }
    var half: Double { 0.5 * (upper - lower) }
    var count: Int { labels.count }
    var basisName: String { periodic ? "fourier" : "legendre" }

    /// A Fourier axis: 2⌊(modes − 1)/2⌋ + 1 functions.
    init(periodicLower lower: Double, upper: Double, modes: Int) {
        precondition(modes >= 3 && upper > lower)
        self.lower = lower
        self.upper = upper
        self.modes = modes
        lowerAbsorbing = false
        upperAbsorbing = false
        periodic = true
        labels = Array(0...(2 * ((modes - 1) / 2)))
    }

    init(lower: Double, upper: Double, modes: Int, lowerAbsorbing: Bool, upperAbsorbing: Bool) {
        precondition(modes >= 3 && upper > lower)
        self.lower = lower
        self.upper = upper
        self.modes = modes
        self.lowerAbsorbing = lowerAbsorbing
        self.upperAbsorbing = upperAbsorbing
        periodic = false
        let vertices: [Int]
        switch (lowerAbsorbing, upperAbsorbing) {
        case (false, false): vertices = [0, 1]
        case (true, false): vertices = [-2]
        case (false, true): vertices = [-1]
        case (true, true): vertices = []
        }
        labels = vertices + Array(2..<modes)
    }

    /// The basis functions and their ξ-derivatives at ξ (`values`, `derivatives` of length `count`).
    func evaluate(_ xi: Double, values: inout [Double], derivatives: inout [Double]) {
        if periodic {
            values[0] = 1; derivatives[0] = 0
            for k in stride(from: 1, to: count, by: 2) {
                let wave = Double((k + 1) / 2) * Double.pi, angle = wave * (xi + 1)
                let (c, s) = (cos(angle), sin(angle))
                values[k] = c; derivatives[k] = -wave * s
                values[k + 1] = s; derivatives[k + 1] = wave * c
            }
            return
        }
        var p = [Double](repeating: 0, count: modes), dp = p
        Self.legendre(xi, values: &p, derivatives: &dp)
        for (i, label) in labels.enumerated() {
            switch label {
            case 0: values[i] = 1; derivatives[i] = 0
            case 1: values[i] = xi; derivatives[i] = 1
            case -1: values[i] = 0.5 * (1 - xi); derivatives[i] = -0.5
            case -2: values[i] = 0.5 * (1 + xi); derivatives[i] = 0.5
            default:
                let k = label, s = 1 / (2 * Double(2 * k - 1)).squareRoot()
                values[i] = (p[k] - p[k - 2]) * s
                derivatives[i] = Double(2 * k - 1) * p[k - 1] * s
            }
        }
    }

    /// The values only (output-grid evaluation).
    func evaluate(_ xi: Double, values: inout [Double]) {
        var scratch = [Double](repeating: 0, count: count)
        evaluate(xi, values: &values, derivatives: &scratch)
    }

    /// P_0…P_{n−1} and their derivatives at ξ (n = values.count ≥ 2), by the three-term
    /// recurrence (k + 1) P_{k+1} = (2k + 1) ξ P_k − k P_{k−1} and P′_{k+1} = P′_{k−1} + (2k + 1) P_k.
    static func legendre(_ xi: Double, values p: inout [Double], derivatives dp: inout [Double]) {
        let n = p.count
        p[0] = 1; dp[0] = 0
        guard n > 1 else { return }
        p[1] = xi; dp[1] = 1
        for k in 1..<(n - 1) {
            p[k + 1] = (Double(2 * k + 1) * xi * p[k] - Double(k) * p[k - 1]) / Double(k + 1)
            dp[k + 1] = dp[k - 1] + Double(2 * k + 1) * p[k]
        }
    }

    /// The n-point Gauss–Legendre rule on [−1, 1] (exact for degree ≤ 2n − 1): Newton's method on
    /// P_n from Tricomi's estimate cos(π(i − ¼)/(n + ½)), to round-off.
    static func gaussLegendre(_ n: Int) -> (nodes: [Double], weights: [Double]) {
        var nodes = [Double](repeating: 0, count: n), weights = nodes
        var p = [Double](repeating: 0, count: n + 1), dp = p
        for i in 0..<((n + 1) / 2) {
            var x = cos(Double.pi * (Double(i) + 0.75) / (Double(n) + 0.5))
            for _ in 0..<100 {
                legendre(x, values: &p, derivatives: &dp)
                let step = p[n] / dp[n]
                x -= step
                if abs(step) < 1e-16 { break }
            }
            legendre(x, values: &p, derivatives: &dp)
            let w = 2 / ((1 - x * x) * dp[n] * dp[n])
            nodes[i] = -x; weights[i] = w
            nodes[n - 1 - i] = x; weights[n - 1 - i] = w
        }
        if n % 2 == 1 { nodes[n / 2] = 0 }
        return (nodes, weights)
    }

    /// A one-axis matrix by rows: row p holds (q, value) with value ≠ 0.
    typealias Banded = [[(column: Int, value: Double)]]

    /// The one-axis matrices of the weak form (test function p, trial q; in ξ) and the moments
    /// ∫ξ^m φ_q, all by the (modes + 3)-point Gauss rule — exact for these polynomials of degree
    /// ≤ 2·modes. The quadrature leaves round-off (≈ 1e-16 of the largest entry) where the
    /// orthogonality makes an entry zero; entries below 1e-13 of the matrix's largest are
    /// structural zeros and are dropped, so the bands are exact.
    struct Matrices: Sendable {
        var mass: Banded = [], position: Banded = [], gradient: Banded = [], gradientPosition: Banded = []
        var stiffness: Banded = [], gradientTransposed: Banded = []
        var moments: [[Double]] = []  // moments[m][q] = ∫ ξ^m φ_q, m = 0, 1, 2
    }

    /// The quadrature rule of the expression operator (`LegendreQuadrature`) and of the check of D:
    /// Gauss–Legendre with 2n + 16 nodes (n the modes) on a Legendre axis, the periodic midpoint rule
    /// with 2n + 16 equally spaced nodes on a Fourier axis (exact for trigonometric polynomials of
    /// degree below that: test × trial × a coefficient of up to n + 16 waves). Midpoints, not the
    /// trapezoid's nodes, so that the seam itself is never sampled. At most 1100 nodes.
    func quadratureRule() -> (nodes: [Double], weights: [Double]) {
        let q = min(2 * (periodic ? count : modes) + 16, 1100)
        guard periodic else { return Self.gaussLegendre(q) }
        return ((0..<q).map { -1 + Double(2 * $0 + 1) / Double(q) }, [Double](repeating: 2 / Double(q), count: q))
    }

    /// Which 4-function band from the top a label is in (0 the top): 4 degrees on a Legendre axis,
    /// 2 wavenumbers (cos and sin) on a Fourier one. The error estimate reads the bands.
    func band(of label: Int) -> Int {
        periodic ? ((count - 1) / 2 - (label + 1) / 2) / 2 : (modes - 1 - label) / 4
    }

    /// Enough bands below the top for the estimate's decay ratio (modes ≥ 16, or 8 waves).
    var hasTailBands: Bool { periodic ? (count - 1) / 2 >= 8 : modes >= 16 }

    func matrices() -> Matrices {
        if periodic { return periodicMatrices() }
        let (nodes, weights) = Self.gaussLegendre(modes + 3)
        let n = count
        var value = [[Double]](repeating: [Double](repeating: 0, count: n), count: nodes.count), slope = value
        for (i, x) in nodes.enumerated() { evaluate(x, values: &value[i], derivatives: &slope[i]) }
        func integral(_ f: (Int) -> Double) -> Double { (0..<nodes.count).reduce(0) { $0 + weights[$1] * f($1) } }
        func banded(_ entry: (Int, Int, Int) -> Double) -> Banded {
            var dense = [[Double]](repeating: [Double](repeating: 0, count: n), count: n)
            for p in 0..<n { for q in 0..<n { dense[p][q] = integral { entry(p, q, $0) } } }
            let largest = dense.joined().reduce(0) { max($0, abs($1)) }
            return dense.map { row in row.enumerated().compactMap { q, v in abs(v) > 1e-13 * largest ? (q, v) : nil } }
        }
        var m = Matrices()
        m.mass = banded { p, q, i in value[i][p] * value[i][q] }
        m.position = banded { p, q, i in value[i][p] * nodes[i] * value[i][q] }
        m.gradient = banded { p, q, i in slope[i][p] * value[i][q] }
        m.gradientPosition = banded { p, q, i in slope[i][p] * nodes[i] * value[i][q] }
        m.stiffness = banded { p, q, i in slope[i][p] * slope[i][q] }
        m.gradientTransposed = banded { p, q, i in value[i][p] * slope[i][q] }
        m.moments = (0...2).map { power in
            (0..<n).map { q in
                let v = integral { value[$0][q] * pow(nodes[$0], Double(power)) }
                return abs(v) > 1e-14 ? v : 0
            }
        }
        return m
    }

    /// The Chebyshev coefficients of every basis function, t[k][p] with φ_p(ξ) = Σ_{k<modes} t[k][p] T_k(ξ):
    /// the discrete Chebyshev transform on the `modes` Chebyshev–Gauss points ξ_j = cos(π(j + ½)/modes),
    /// exact for polynomials of degree < modes (discrete orthogonality of T_k there) — FFTW's DCT-II
    /// (REDFT10, Y_k = 2 Σ_j f_j cos(πk(j + ½)/n)) of all the functions at once: a_k = Y_k/n, a_0 = Y_0/2n.
    func chebyshevCoefficients() -> [[Double]] {
        precondition(!periodic)
        let n = modes, m = count
        let input = fftw_alloc_real(n * m)!, output = fftw_alloc_real(n * m)!
        defer { fftw_free(input); fftw_free(output) }
        var values = [Double](repeating: 0, count: m)
        for j in 0..<n {
            evaluate(cos(Double.pi * (Double(j) + 0.5) / Double(n)), values: &values)
            for p in 0..<m { input[p * n + j] = values[p] }
        }
        var length = Int32(n), kind = fp_fftw_redft10()
        FourierSeries.planner.lock()
        let plan = fftw_plan_many_r2r(1, &length, Int32(m), input, nil, 1, Int32(n), output, nil, 1, Int32(n), &kind, fp_fftw_estimate())
        FourierSeries.planner.unlock()
        guard let plan else { preconditionFailure("FFTW could not plan a DCT of length \(n)") }
        fftw_execute(plan)
        FourierSeries.planner.lock()
        fftw_destroy_plan(plan)
        FourierSeries.planner.unlock()
        return (0..<n).map { k in (0..<m).map { p in output[p * n + k] / Double(k == 0 ? 2 * n : n) } }
    }

    /// A Fourier axis: the diagonal mass (2, 1, 1, …) and the moments in closed form — with
    /// cos(kπ(ξ + 1)) = (−1)^k cos kπξ: ∫ξ² cos = 4/(kπ)², ∫ξ sin = −2/(kπ), the rest 0 but
    /// ∫1 = 2, ∫ξ² = 2/3. The linear-model matrices stay empty (a linear drift is not periodic).
    func periodicMatrices() -> Matrices {
        var m = Matrices()
        m.mass = labels.map { [($0, $0 == 0 ? 2.0 : 1.0)] }
        m.moments = [[Double]](repeating: [Double](repeating: 0, count: count), count: 3)
        m.moments[0][0] = 2
        m.moments[2][0] = 2.0 / 3
        for k in stride(from: 1, to: count, by: 2) {
            let wave = Double((k + 1) / 2) * Double.pi
            m.moments[2][k] = 4 / (wave * wave)
            m.moments[1][k + 1] = -2 / wave
        }
        return m
    }
}
