import Foundation

/// exp(t A) v by Krylov subspace projection with local error control — the algorithm of
/// Sidje's Expokit (`expv`, ACM TOMS 24, 1998): an Arnoldi basis V_m of span{v, Av, …} gives
/// exp(τA) v ≈ β V_m exp(τH_m) e₁ on each sub-step τ, whose error is estimated from the next
/// Arnoldi coefficient (the augmented (m+2)×(m+2) exponential), and τ adapts to keep the error
/// below `tolerance` · ‖v‖₂ per unit time.
///
/// For a stiff generator the basis size the error needs grows like √(τ‖A‖) rather than the
/// τ‖A‖ products of a Taylor series (`ExponentialAction`): on a 200² diffusion with τ‖L‖₁ ≈ 1100,
/// tens of products instead of thousands.
public struct KrylovExponential: Sendable {
    public let matrix: SparseMatrix
    /// Basis size per sub-step.
    public var basisSize = 30
    /// Local error per unit time, relative to ‖v‖₂.
    public var tolerance = 1e-14

    public init(_ matrix: SparseMatrix) {
        precondition(matrix.rows == matrix.columns)
        self.matrix = matrix
    }

    /// exp(t A) v, and the number of products with A it took.
    public func apply(_ v: [Double], time t: Double) throws -> (result: [Double], products: Int) {
        let n = v.count
        func norm(_ x: [Double]) -> Double { x.reduce(0) { $0 + $1 * $1 }.squareRoot() }
        var beta = norm(v)
        guard beta > 0, t != 0 else { return (v, 0) }
        let m = min(basisSize, max(n - 1, 1))
        let anorm = max(matrix.infinityNorm, .leastNormalMagnitude)
        let absoluteTolerance = tolerance * beta
        // Expokit's breakdown tolerance and step-size safety factors.
        let breakdown = 1e-7, delta = 1.2, gamma = 0.9, maxRejects = 40
        func round2(_ x: Double) -> Double {
            // Two significant digits, rounded up (Expokit's step sizes).
            guard x > 0, x.isFinite else { return x }
            let s = pow(10, (log10(x)).rounded(.down) - 1)
            return (x / s).rounded(.up) * s
        }
        let mm = Double(m)
        let fact = pow((mm + 1) / M_E, mm + 1) * (2 * Double.pi * (mm + 1)).squareRoot()
        var tNew = round2((1 / anorm) * pow((fact * absoluteTolerance) / (4 * beta * anorm), 1 / mm))
        if !(tNew > 0) || !tNew.isFinite { tNew = abs(t) }
        let sign: Double = t > 0 ? 1 : -1
        let tOut = abs(t)
        var tNow = 0.0
        var w = v
        var products = 0
        var basis = [Double](repeating: 0, count: (m + 1) * n)
        while tNow < tOut {
            var tStep = min(tOut - tNow, tNew)
            var h = Matrix(rows: m + 2, columns: m + 2)
            for i in 0..<n { basis[i] = w[i] / beta }
            var k1 = 2, mb = m
            var p = [Double](repeating: 0, count: n)
            for j in 0..<m {
                p = basis.withUnsafeBufferPointer { Array($0[(j * n)..<((j + 1) * n)]) }
                p = matrix.multiply(p)
                products += 1
                // Modified Gram–Schmidt.
                for i in 0...j {
                    var dot = 0.0
                    for r in 0..<n { dot += basis[i * n + r] * p[r] }
                    h[i, j] = dot
                    for r in 0..<n { p[r] -= dot * basis[i * n + r] }
                }
                let s = norm(p)
                if s < breakdown * anorm * 1e-9 {
                    // Happy breakdown: the subspace is invariant, the projection exact.
                    k1 = 0
                    mb = j + 1
                    tStep = tOut - tNow
                    break
                }
                h[j + 1, j] = s
                for r in 0..<n { basis[(j + 1) * n + r] = p[r] / s }
            }
            var avnorm = 0.0
            if k1 != 0 {
                h[m + 1, m] = 1
                let last = basis.withUnsafeBufferPointer { Array($0[(m * n)..<((m + 1) * n)]) }
                avnorm = norm(matrix.multiply(last))
                products += 1
            }
            var rejects = 0
            var f = Matrix(rows: 1, columns: 1)
            var errorLocal = 0.0, xm = 1 / mm
            while true {
                let mx = mb + k1
                var small = Matrix(rows: mx, columns: mx)
                for i in 0..<mx { for j in 0..<mx { small[i, j] = sign * tStep * h[i, j] } }
                f = try small.exponential()
                if k1 == 0 { errorLocal = 0; break }
                let phi1 = abs(beta * f[m, 0]), phi2 = abs(beta * f[m + 1, 0] * avnorm)
                if phi1 > 10 * phi2 {
                    errorLocal = phi2; xm = 1 / mm
                } else if phi1 > phi2 {
                    errorLocal = phi1 * phi2 / (phi1 - phi2); xm = 1 / mm
                } else {
                    errorLocal = phi1; xm = 1 / (mm - 1)
                }
                if errorLocal <= delta * tStep * absoluteTolerance { break }
                rejects += 1
                guard rejects <= maxRejects else {
                    throw FokkerPlanckError.solverFailed("the Krylov exponential could not meet its tolerance (local error \(errorLocal) at step \(tStep)); use scheme = \"crank-nicolson\"")
                }
                tStep = round2(gamma * tStep * pow(tStep * absoluteTolerance / errorLocal, xm))
            }
            let mx = mb + max(0, k1 - 1)
            var next = [Double](repeating: 0, count: n)
            for j in 0..<mx {
                let c = beta * f[j, 0]
                for r in 0..<n { next[r] += c * basis[j * n + r] }
            }
            w = next
            beta = norm(w)
            tNow += tStep
            if errorLocal > 0 {
                tNew = round2(gamma * tStep * pow(tStep * absoluteTolerance / errorLocal, xm))
            } else {
                tNew = tOut
            }
            guard beta > 0, beta.isFinite else { break }
        }
        return (w, products)
    }
}
