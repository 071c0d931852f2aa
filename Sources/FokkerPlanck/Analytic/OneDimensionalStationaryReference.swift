import Foundation

/// The exact stationary state of any one-dimensional model on a reflecting or periodic axis, from
/// its Itô coefficients by quadrature (THEORY §5). With u = Dρ and ψ(x) = ∫_lo^x μ/D, the flux
/// J = μρ − u′ is constant:
///
/// * reflecting walls: J = 0 and ρ ∝ e^{ψ}/D (the zero-flux density exp(∫μ/D)/D);
/// * a ring of length ℓ, tilted by Ψ = ψ(hi) ≠ 0 (Stratonovich's and Reimann's formula): since
///   ψ(x + ℓ) = ψ(x) + Ψ, the periodic solution is
///
///       u(x) = K e^{ψ(x)} ∫_x^{x+ℓ} e^{−ψ} = K e^{ψ(x)} [E(hi) − E(x) + e^{−Ψ} E(x)],   E(x) = ∫_lo^x e^{−ψ},
///
///   and J = K (1 − e^{−Ψ}); K normalises ρ on the period, and the mean velocity is J ℓ.
///
/// Integrals are composite 5-point Gauss–Legendre on 2048 panels (ψ and E at panel ends
/// accumulated once, then from the nearest end), exact to round-off for smooth coefficients. ψ is
/// shifted by its largest value so that e^{ψ} cannot overflow; a range of ψ beyond 600 (e^{±600}
/// against the double range) is refused.
public struct OneDimensionalStationaryReference: Sendable {
    let model: any DriftDiffusionModel
    let lower: Double, upper: Double, periodic: Bool
    let panelWidth: Double
    /// ψ − shift and E at the panel ends.
    let psiEnds: [Double], eEnds: [Double]
    let shift: Double
    /// K/Z: the normalised constant, and J.
    private(set) var scale = 1.0
    public private(set) var current = 0.0
    static let panels = 2048

    public init(model: any DriftDiffusionModel, axis: Axis) throws {
        precondition(model.dimension == 1)
        self.model = model
        lower = axis.lower; upper = axis.upper
        periodic = axis.boundary == .periodic
        guard axis.boundary == .reflecting || periodic else {
            throw FokkerPlanckError.solverFailed("the one-dimensional reference needs reflecting or periodic walls, found \(axis.boundary.rawValue)")
        }
        let n = Self.panels
        panelWidth = (upper - lower) / Double(n)
        func ratio(_ x: Double) -> Double { model.drift(at: [x])[0] / model.diffusion(at: [x]).elements[0] }
        var psi = [Double](repeating: 0, count: n + 1)
        for p in 0..<n { psi[p + 1] = psi[p] + Self.integrate(from: lower + Double(p) * panelWidth, to: lower + Double(p + 1) * panelWidth, ratio) }
        guard psi.allSatisfy(\.isFinite), psi.max()! - psi.min()! < 600 else {
            throw FokkerPlanckError.solverFailed("ψ = ∫μ/D is not finite or spans more than 600 on the axis: e^ψ leaves the double range")
        }
        let top = psi.max()!
        shift = top
        psiEnds = psi.map { $0 - top }
        // E at the ends, with ψ inside each panel from its left end.
        var e = [Double](repeating: 0, count: n + 1)
        let ends = psiEnds, width = panelWidth, lo = lower
        func psiLocal(_ x: Double) -> Double {
            let p = Swift.min(Swift.max(Int(((x - lo) / width).rounded(.down)), 0), n - 1)
            let a = lo + Double(p) * width
            return ends[p] + Self.integrate(from: a, to: x, ratio)
        }
        for p in 0..<n {
            let a = lower + Double(p) * panelWidth
            e[p + 1] = e[p] + Self.integrate(from: a, to: a + panelWidth) { Foundation.exp(-psiLocal($0)) }
        }
        eEnds = e
        // Normalise on the axis.
        var total = 0.0
        for p in 0..<n {
            let a = lower + Double(p) * panelWidth
            total += Self.integrate(from: a, to: a + panelWidth) { self.unnormalised($0) }
        }
        scale = 1 / total
        if periodic {
            // The shift cancels between e^{ψ} and E; Ψ = ψ(hi) − ψ(lo).
            current = scale * (1 - Foundation.exp(-(psiEnds[n] - psiEnds[0])))
        }
    }

    /// 5-point Gauss–Legendre of f on [a, b].
    static func integrate(from a: Double, to b: Double, _ f: (Double) -> Double) -> Double {
        let half = 0.5 * (b - a), mid = 0.5 * (a + b)
        var s = 0.0
        for (t, w) in SeparableStationaryReference.Ring.nodes { s += w * f(mid + half * t) }
        return s * half
    }

    private func panel(_ x: Double) -> (Int, Double) {
        let p = Swift.min(Swift.max(Int(((x - lower) / panelWidth).rounded(.down)), 0), Self.panels - 1)
        return (p, lower + Double(p) * panelWidth)
    }

    func psi(_ x: Double) -> Double {
        let (p, a) = panel(x)
        return psiEnds[p] + Self.integrate(from: a, to: x) { model.drift(at: [$0])[0] / model.diffusion(at: [$0]).elements[0] }
    }

    func capitalE(_ x: Double) -> Double {
        let (p, a) = panel(x)
        return eEnds[p] + Self.integrate(from: a, to: x) { Foundation.exp(-psi($0)) }
    }

    /// ρ/K: e^{ψ}/D, times the period integral on a ring (the shift of ψ cancels there; with walls
    /// the normalisation absorbs it).
    func unnormalised(_ x: Double) -> Double {
        let d = model.diffusion(at: [x]).elements[0]
        let u: Double
        if periodic {
            let e = capitalE(x), tilt = psiEnds[Self.panels] - psiEnds[0]
            u = Foundation.exp(psi(x)) * (eEnds[Self.panels] - e + Foundation.exp(-tilt) * e)
        } else {
            u = Foundation.exp(psi(x))
        }
        return u / d
    }

    public func density(at x: [Double]) -> Double { scale * unnormalised(x[0]) }
    /// The mean velocity on a ring, J ℓ (0 with walls).
    public var meanVelocity: Double { current * (upper - lower) }
}
