import Foundation

/// The exact stationary state of any one-dimensional model on a reflecting or periodic axis, from
/// its Itô coefficients by quadrature (THEORY §5). With u = Dρ and ψ(x) = ∫_lo^x μ/D, the flux
/// J = μρ − u′ is constant:
///
/// * reflecting walls: J = 0 and ρ ∝ e^{ψ}/D (the zero-flux density exp(∫μ/D)/D);
/// * a ring of length ℓ, tilted by Ψ = ψ(hi) ≠ 0 (Stratonovich's and Reimann's formula): since
///   ψ(x + ℓ) = ψ(x) + Ψ, the periodic solution is
///
///       u(x) = K e^{ψ(x)} ∫_x^{x+ℓ} e^{−ψ} = K e^{ψ(x)} [∫_x^{hi} e^{−ψ} + e^{−Ψ} E(x)],   E(x) = ∫_lo^x e^{−ψ},
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
    /// ∫_{end}^{hi} e^{−ψ} at the panel ends, summed from the top: E(hi) − E(x) cancels where x
    /// nears hi, and on a strongly tilted ring that difference is weighed against e^{−Ψ}E(x)
    /// (measured: 1e-13 relative in ρ at Ψ ≈ 10, 1e-15 with the tail sums; at Ψ ≈ 250 the ψ sums
    /// themselves, ε Ψ, leave ~6e-14).
    let tailEnds: [Double]
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
        // Running sums compensated (Neumaier): plain ones drifted by 1.2e-12 of the tilted ring's
        // current over 2048 panels (2.2e-12 over 8192), which the Fourier Galerkin solve exposed —
        // it agrees with a 30-digit mpmath quadrature to 1.5e-16.
        var psi = [Double](repeating: 0, count: n + 1)
        var psiSum = CompensatedSum()
        for p in 0..<n {
            psiSum.add(Self.integrate(from: lower + Double(p) * panelWidth, to: lower + Double(p + 1) * panelWidth, ratio))
            psi[p + 1] = psiSum.value
        }
        guard psi.allSatisfy(\.isFinite), psi.max()! - psi.min()! < 600 else {
            throw FokkerPlanckError.solverFailed("ψ = ∫μ/D is not finite or spans more than 600 on the axis: e^ψ leaves the double range")
        }
        let top = psi.max()!
        shift = top
        psiEnds = psi.map { $0 - top }
        // E at the ends, with ψ inside each panel from its left end.
        var e = [Double](repeating: 0, count: n + 1)
        var eSum = CompensatedSum()
        let ends = psiEnds, width = panelWidth, lo = lower
        func psiLocal(_ x: Double) -> Double {
            let p = Swift.min(Swift.max(Int(((x - lo) / width).rounded(.down)), 0), n - 1)
            let a = lo + Double(p) * width
            return ends[p] + Self.integrate(from: a, to: x, ratio)
        }
        var pieces = [Double](repeating: 0, count: n)
        for p in 0..<n {
            let a = lower + Double(p) * panelWidth
            pieces[p] = Self.integrate(from: a, to: a + panelWidth) { Foundation.exp(-psiLocal($0)) }
            eSum.add(pieces[p])
            e[p + 1] = eSum.value
        }
        eEnds = e
        var tail = [Double](repeating: 0, count: n + 1), tailSum = CompensatedSum()
        for p in stride(from: n - 1, through: 0, by: -1) {
            tailSum.add(pieces[p])
            tail[p] = tailSum.value
        }
        tailEnds = tail
        // Normalise on the axis.
        var total = CompensatedSum()
        for p in 0..<n {
            let a = lower + Double(p) * panelWidth
            total.add(Self.integrate(from: a, to: a + panelWidth) { self.unnormalised($0) })
        }
        scale = 1 / total.value
        if periodic {
            // The shift cancels between e^{ψ} and E; Ψ = ψ(hi) − ψ(lo).
            current = scale * -Foundation.expm1(-(psiEnds[n] - psiEnds[0]))
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

    /// ∫_x^{hi} e^{−ψ}, from the next panel end's tail sum.
    func tailE(_ x: Double) -> Double {
        let (p, a) = panel(x)
        return tailEnds[p + 1] + Self.integrate(from: x, to: a + panelWidth) { Foundation.exp(-psi($0)) }
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
            let tilt = psiEnds[Self.panels] - psiEnds[0]
            u = Foundation.exp(psi(x)) * (tailE(x) + Foundation.exp(-tilt) * capitalE(x))
        } else {
            u = Foundation.exp(psi(x))
        }
        return u / d
    }

    public func density(at x: [Double]) -> Double { scale * unnormalised(x[0]) }
    /// The mean velocity on a ring, J ℓ (0 with walls).
    public var meanVelocity: Double { current * (upper - lower) }
}
