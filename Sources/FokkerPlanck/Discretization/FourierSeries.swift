import CFFTW
import Foundation

/// The Fourier coefficients ĝ_m of a smooth function periodic on a box, g(x) = Σ_m ĝ_m e^{i m·θ},
/// θ_j = 2π (x_j − lower_j) / L_j, computed with an FFTW real-to-complex transform of g sampled
/// on a uniform grid. The grid is doubled until the upper half of the resolved frequencies holds
/// less than `tolerance` of the largest coefficient (aliasing below that); a function that is not
/// smooth and periodic never gets there and is refused.
///
/// This is how non-constant coefficients enter a Galerkin Fourier operator (as Dedalus does):
/// multiplication by g is a convolution with ĝ, which is banded when g is a trigonometric
/// polynomial (cos x: m = ±1 only) and, truncated at `tolerance`, sparse when it is smooth.
struct FourierSeries {
    /// Wave vectors and coefficients with |ĝ_m| > tolerance · max |ĝ|, |m_j| ≤ bound_j.
    let terms: [(m: [Int], value: (re: Double, im: Double))]
    /// The sample points per axis that resolved it.
    let points: [Int]

    /// FFTW's planner is not thread-safe (every plan in the library is made under this lock).
    static let planner = NSLock()

    /// g on the box [lower, upper) (periodic on every axis); the coefficients kept are those with
    /// |m_j| ≤ bound_j. Returns nil when g is not resolved by 2²² samples in all (not smooth and
    /// periodic, or not finite).
    init?(lower: [Double], upper: [Double], bound: [Int], tolerance: Double = 1e-14, _ g: ([Double]) -> Double) {
        let q = lower.count
        var points = bound.map { b -> Int in
            var n = 32
            while n < 4 * b + 4 { n *= 2 }
            return n
        }
        while true {
            if let terms = Self.transform(lower: lower, upper: upper, points: points, bound: bound, tolerance: tolerance, g) {
                self.terms = terms
                self.points = points
                return
            }
            points = points.map { 2 * $0 }
            if points.reduce(1, *) > 1 << 22 || q == 0 { return nil }
        }
    }

    /// nil when the upper half of the frequencies holds more than `tolerance` of the largest.
    private static func transform(lower: [Double], upper: [Double], points: [Int], bound: [Int], tolerance: Double,
                                  _ g: ([Double]) -> Double) -> [(m: [Int], value: (re: Double, im: Double))]? {
        let q = points.count
        let total = points.reduce(1, *)
        let last = points[q - 1] / 2 + 1
        let outCount = total / points[q - 1] * last
        let input = fftw_alloc_real(total)!
        let output = fftw_alloc_complex(outCount)!
        defer { fftw_free(input); fftw_free(output) }
        // Sample (row-major, axis 0 slowest), then plan: FFTW_ESTIMATE leaves the input alone.
        var x = [Double](repeating: 0, count: q)
        for flat in 0..<total {
            var rest = flat
            for j in stride(from: q - 1, through: 0, by: -1) {
                let i = rest % points[j]; rest /= points[j]
                x[j] = lower[j] + (upper[j] - lower[j]) * Double(i) / Double(points[j])
            }
            let value = g(x)
            guard value.isFinite else { return nil }
            input[flat] = value
        }
        planner.lock()
        let plan = points.map(Int32.init).withUnsafeBufferPointer { n in
            fftw_plan_dft_r2c(Int32(q), n.baseAddress, input, output, fp_fftw_estimate())
        }
        planner.unlock()
        guard let plan else { return nil }
        fftw_execute(plan)
        planner.lock()
        fftw_destroy_plan(plan)
        planner.unlock()

        // ĝ_m for the full range |m_j| < points_j / 2 (the half-spectrum's conjugates filled in).
        func coefficient(_ m: [Int]) -> (re: Double, im: Double) {
            var conjugate = false
            var index = m
            if m[q - 1] < 0 { conjugate = true; index = m.map { -$0 } }
            var flat = 0
            for j in 0..<q {
                let wrapped = ((index[j] % points[j]) + points[j]) % points[j]
                flat = flat * (j == q - 1 ? last : points[j]) + wrapped
            }
            let c = output[flat]
            let scale = 1 / Double(total)
            return (c.0 * scale, (conjugate ? -c.1 : c.1) * scale)
        }
        var largest = 0.0, upperHalf = 0.0
        var kept: [(m: [Int], value: (re: Double, im: Double))] = []
        let half = points.map { $0 / 2 - 1 }
        var m = half.map { -$0 }
        outer: while true {
            let c = coefficient(m)
            let size = (c.re * c.re + c.im * c.im).squareRoot()
            largest = max(largest, size)
            if (0..<q).contains(where: { 2 * abs(m[$0]) > half[$0] }) { upperHalf = max(upperHalf, size) }
            if (0..<q).allSatisfy({ abs(m[$0]) <= bound[$0] }) { kept.append((m, c)) }
            for j in stride(from: q - 1, through: 0, by: -1) {
                if m[j] < half[j] { m[j] += 1; continue outer }
                m[j] = -half[j]
            }
            break
        }
        guard upperHalf <= tolerance * largest else { return nil }
        return kept.filter { ($0.value.re * $0.value.re + $0.value.im * $0.value.im).squareRoot() > tolerance * largest }
    }
}
