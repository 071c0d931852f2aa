import Foundation

/// The exact stationary state of a *separable* linear model (A and D diagonal) on a box whose
/// axes are reflecting or periodic: the density is the product of one-dimensional densities, each
/// solving μ_k ρ_k − D_k ρ_k′ = J_k on its axis with μ_k(x) = −a_k (x − c_k).
///
/// * Reflecting axis: J_k = 0 and ρ_k ∝ exp(−a_k (x − c_k)²/(2D_k)), normalised on the axis with erf
///   (the box-restricted Gaussian, not the one normalised on R).
/// * Periodic axis (a ring): the drift is the wrapped one, a sawtooth when c_k is off the middle
///   of the axis, whose mean a_k(c_k − midpoint) tilts the ring and drives a constant current.
///   With ψ(x) = ∫_lo^x μ/D,
///
///       ρ(x) = e^{ψ(x)} [ρ(lo) − (J/D) ∫_lo^x e^{−ψ}],   J/D = ρ(lo)(1 − e^{−ψ(hi)}) / ∫_lo^hi e^{−ψ},
///
///   (periodicity fixes J; THEORY §2, the tilted ring), normalised on the period. The integrals
///   of e^{−ψ} (an erfi, absent from libm) are composite 5-point Gauss–Legendre on 2048 panels,
///   exact to round-off for these smooth integrands.
///
/// The current is J_k Π_{m≠k} ρ_m, Φ = −T log ρ.
public struct SeparableStationaryReference: Sendable {
    struct Ring: Sendable {
        let lower: Double, upper: Double, rate: Double, centre: Double, diffusion: Double
        let periodic: Bool
        /// ∫_lo^{t_i} e^{−ψ} at the panel ends t_i (periodic axes).
        let cumulative: [Double]
        let fluxOverD: Double
        /// ∫ raw over the axis; set last, from `raw` itself on a ring.
        private(set) var normalisation: Double

        static let nodes: [(Double, Double)] = {
            let a = (5.0 - 2.0 * (10.0 / 7.0).squareRoot()).squareRoot() / 3
            let b = (5.0 + 2.0 * (10.0 / 7.0).squareRoot()).squareRoot() / 3
            let wa = (322.0 + 13.0 * 70.0.squareRoot()) / 900, wb = (322.0 - 13.0 * 70.0.squareRoot()) / 900
            return [(0, 128.0 / 225), (a, wa), (-a, wa), (b, wb), (-b, wb)]
        }()
        static let panels = 2048

        init(lower: Double, upper: Double, rate: Double, centre: Double, diffusion: Double, periodic: Bool) {
            self.lower = lower; self.upper = upper; self.rate = rate; self.centre = centre
            self.diffusion = diffusion; self.periodic = periodic
            guard periodic else {
                // ∫ exp(−a(x−c)²/(2D)) over [lo, hi] = sqrt(πD/(2a)) [erf(s(hi−c)) − erf(s(lo−c))].
                let s = (rate / (2 * diffusion)).squareRoot()
                normalisation = (Double.pi * diffusion / (2 * rate)).squareRoot() * (erf(s * (upper - centre)) - erf(s * (lower - centre)))
                cumulative = []; fluxOverD = 0
                return
            }
            let width = (upper - lower) / Double(Self.panels)
            var cumulative = [0.0]
            for i in 0..<Self.panels {
                let t = lower + Double(i) * width
                cumulative.append(cumulative.last! + Self.integrate(from: t, to: t + width) { exp(-Self.psi($0, lower, rate, centre, diffusion)) })
            }
            self.cumulative = cumulative
            fluxOverD = (1 - exp(-Self.psi(upper, lower, rate, centre, diffusion))) / cumulative.last!
            normalisation = 1
            var total = 0.0
            for i in 0..<Self.panels {
                let t = lower + Double(i) * width
                total += Self.integrate(from: t, to: t + width) { raw($0) }
            }
            normalisation = total
        }

        /// ψ(x) = ∫_lo^x μ/D = −a((x − c)² − (lo − c)²)/(2D).
        static func psi(_ x: Double, _ lower: Double, _ rate: Double, _ centre: Double, _ diffusion: Double) -> Double {
            -rate * ((x - centre) * (x - centre) - (lower - centre) * (lower - centre)) / (2 * diffusion)
        }

        static func integrate(from a: Double, to b: Double, _ f: (Double) -> Double) -> Double {
            let half = 0.5 * (b - a), mid = 0.5 * (a + b)
            return half * nodes.reduce(0) { $0 + $1.1 * f(mid + half * $1.0) }
        }

        /// ρ(x)/ρ(lo) before normalisation, x in [lo, hi).
        func raw(_ x: Double) -> Double {
            guard periodic else { return exp(-rate * (x - centre) * (x - centre) / (2 * diffusion)) }
            let width = (upper - lower) / Double(Self.panels)
            let i = min(Self.panels - 1, max(0, Int((x - lower) / width)))
            let t = lower + Double(i) * width
            let partial = cumulative[i] + Self.integrate(from: t, to: x) { exp(-Self.psi($0, lower, rate, centre, diffusion)) }
            return exp(Self.psi(x, lower, rate, centre, diffusion)) * (1 - fluxOverD * partial)
        }

        func density(_ x: Double) -> Double { raw(x) / normalisation }
        /// The constant current J = D · (J/D) of the normalised density (0 on a reflecting axis).
        var current: Double { periodic ? diffusion * fluxOverD / normalisation : 0 }
    }

    let rings: [Ring]
    public let temperature: Double

    /// Fails unless A and D are diagonal and every axis is reflecting or periodic.
    public init(model: LinearModel, grid: Grid) throws {
        let d = model.dimension
        for i in 0..<d {
            for j in 0..<d where i != j && (model.driftMatrix[i, j] != 0 || model.diffusionMatrix[i, j] != 0) {
                throw FokkerPlanckError.badInput(file: nil, keyPath: "model", line: nil,
                    message: "the separable reference needs diagonal drift and diffusion matrices")
            }
        }
        rings = try (0..<d).map { k in
            let axis = grid.axes[k]
            guard axis.boundary != .absorbing, model.driftMatrix[k, k] > 0, model.diffusionMatrix[k, k] > 0 else {
                throw FokkerPlanckError.badInput(file: nil, keyPath: "grid.boundary", line: nil,
                    message: "the separable reference needs reflecting or periodic axes, a_kk > 0 and D_kk > 0")
            }
            return Ring(lower: axis.lower, upper: axis.upper, rate: model.driftMatrix[k, k], centre: model.center[k],
                        diffusion: model.diffusionMatrix[k, k], periodic: axis.boundary == .periodic)
        }
        temperature = model.temperature
    }

    public func density(at x: [Double]) -> Double {
        zip(rings, x).reduce(1) { $0 * $1.0.density($1.1) }
    }

    public func current(at x: [Double]) -> [Double] {
        let factors = zip(rings, x).map { $0.density($1) }
        return rings.indices.map { k in
            rings[k].current * factors.indices.filter { $0 != k }.reduce(1) { $0 * factors[$1] }
        }
    }

    public func potential(at x: [Double]) -> Double { -temperature * log(density(at: x)) }

    /// J_k of the one-dimensional ring k (the drift velocity of the tilted ring is J_k · period).
    public func ringCurrent(_ k: Int) -> Double { rings[k].current }
}
