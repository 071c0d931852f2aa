import Foundation

extension KuninReference {
    /// Per eigenmode i of H + λI: γ = Γ/2, ω² = 2h_i/(η(1+β)), δ = sqrt(ω² − γ²) (imaginary when
    /// overdamped), and the normalised stationary autocorrelation of θ_i,
    /// c_i(t) = e^{−γt}(cos δt + (γ/δ) sin δt) (cosh/sinh when overdamped, 1 + γt when critical).
    func autocorrelation(mode i: Int, at t: Double) -> Double {
        let gamma = parameters.friction / 2
        let omega2 = 2 * curvatures[i] / (parameters.learningRate * (1 + parameters.momentum))
        let disc = omega2 - gamma * gamma
        let decay = exp(-gamma * t)
        if abs(disc) < 1e-12 * omega2 { return decay * (1 + gamma * t) }
        if disc > 0 {
            let delta = disc.squareRoot()
            return decay * (cos(delta * t) + gamma / delta * sin(delta * t))
        }
        let delta = (-disc).squareRoot()
        return decay * (cosh(delta * t) + gamma / delta * sinh(delta * t))
    }

    /// Anomalous diffusion from stationarity (commuting noise, THEORY §3):
    /// E‖θ(t) − θ(0)‖² = Σ_i 2P̃_ii [1 − c_i(t)] — like R t² early, saturating at 2 tr P.
    public func meanSquaredDisplacement(at t: Double) -> Double {
        let pt = eigenvectors.transposed * positionCovariance * eigenvectors
        return (0..<parameters.parameterCount).reduce(0) { $0 + 2 * pt[$1, $1] * (1 - autocorrelation(mode: $1, at: t)) }
    }

    /// Mean of (θ − μ_λ, v) per eigenmode from (θ₀ − μ_λ, v₀): the damped oscillation of THEORY §3
    /// about the fixed point μ_λ, as offsets from it.
    public func mean(from theta0: [Double], velocity v0: [Double], at t: Double) throws -> [Double] {
        // The OU propagator of the phase-space model is exact for every mode at once.
        let e = try (-t * parameters.linearModel().driftMatrix).exponential()
        let z0 = zip(theta0, parameters.fixedPoint).map { $0 - $1 } + v0
        return e * z0
    }
}

/// Two-time statistics of a stationary process from the discrete operator: for an observable z_k,
/// Cov(z_k(t), z_k(0)) = Σ_c (z_k − m_k) [e^{tL}((z_k − m_k) ρ_ss)]_c V, so that
/// E(z_k(t) − z_k(0))² = 2 (Var z_k − Cov(t)). The weighted density is propagated by Crank–Nicolson
/// with Δt = min(decade start / 10, `maxStep`) in each decade of t (one factorization per decade);
/// `maxStep` must resolve the fastest oscillation (Δt ω ≲ 0.05 keeps the phase error below 1e-3
/// per period).
public enum StationaryCorrelation {
    public static func meanSquaredDisplacement(scheme: FiniteVolumeScheme, stationary density: [Double], axes: [Int],
                                               times: [Double], maxStep: Double) throws -> [Double] {
        let grid = scheme.grid
        let generator = scheme.assemble()
        let sorted = times.sorted()
        precondition(sorted.first! > 0)
        var results: [Double: Double] = [:]
        for k in axes {
            let centres = grid.sample { $0[k] }
            let mean = grid.integrate(zip(centres, density).map { $0 * $1 })
            let offset = centres.map { $0 - mean }
            let variance = grid.integrate(zip(offset, density).map { $0 * $0 * $1 })
            var f = zip(offset, density).map { $0 * $1 }
            var time = 0.0
            var decadeStart = sorted.first!
            var stepper: TimeStepper? = nil
            var stepperDt = 0.0
            for target in sorted {
                while time < target * (1 - 1e-12) {
                    while target > decadeStart * 10 * (1 + 1e-12) { decadeStart *= 10 }
                    let dt = min(decadeStart / 10, maxStep, target - time)
                    if stepper == nil || abs(dt - stepperDt) > 1e-12 * dt {
                        stepper = try TimeStepper(generator: generator, scheme: .crankNicolson, dt: dt, dimension: grid.dimension)
                        stepperDt = dt
                    }
                    f = try stepper!.step(f)
                    time += dt
                }
                let covariance = grid.integrate(zip(offset, f).map { $0 * $1 })
                results[target, default: 0] += 2 * (variance - covariance)
            }
        }
        return times.map { results[$0]! }
    }
}
