import Foundation

/// Underdamped Langevin dynamics in a potential (problem-file `type = "langevin"`), on the axes
/// x_1…x_q, v_1…v_q (d = 2q, q = 1 or 2):
///
///     dx = v dt,   m dv = −(γ v + ∇U(x)) dt + sqrt(2γT) dW,
///
/// so μ = (v, −(γ v + ∇U)/m) and D = diag(0, γT/m² I) (no noise on positions). The stationary
/// density is the Boltzmann weight exp(−(U(x) + m|v|²/2)/T), and its current the Hamiltonian
/// flow J = (v, −∇U/m) ρ. U is an expression in the position axis names; ∇U is its symbolic
/// derivative.
public struct LangevinModel: DriftDiffusionModel {
    public let potential: Formula
    let gradient: [Formula]
    public let mass: Double
    public let friction: Double
    public let temperature: Double
    public let positionCount: Int

    public init(potential: Formula, positionCount: Int, mass: Double, friction: Double, temperature: Double) {
        self.potential = potential
        self.positionCount = positionCount
        gradient = (0..<positionCount).map { potential.derivative($0) }
        self.mass = mass
        self.friction = friction
        self.temperature = temperature
    }

    public var dimension: Int { 2 * positionCount }
    public var hasConstantDiffusion: Bool { true }
    public var hasAffineDrift: Bool { gradient.allSatisfy { $0.isConstant } }

    public func drift(at z: [Double], into mu: inout [Double]) {
        let q = positionCount
        let x = Array(z[0..<q])
        for i in 0..<q {
            mu[i] = z[q + i]
            mu[q + i] = -(friction * z[q + i] + gradient[i].evaluate(x)) / mass
        }
    }

    public func diffusion(at z: [Double], into d: inout [Double]) {
        let n = dimension, q = positionCount
        for i in 0..<(n * n) { d[i] = 0 }
        for i in q..<n { d[i * n + i] = friction * temperature / (mass * mass) }
    }

    /// x_i moves with v_i: a specular wall on x_i reverses v_i.
    public func velocityAxis(pairedWith k: Int) -> Int? { k < positionCount ? positionCount + k : nil }

    /// Φ_eq = (U(x) + m|v|²/2)/T, the Boltzmann exponent: −D∇Φ_eq = (0, −γ v/m) is the friction,
    /// which the velocity noise balances; the rest, (v, −∇U/m), is the Hamiltonian transport.
    public var hasEquilibriumPotential: Bool { true }

    public func equilibriumGradient(at z: [Double], into g: inout [Double]) {
        let q = positionCount
        let x = Array(z[0..<q])
        for i in 0..<q {
            g[i] = gradient[i].evaluate(x) / temperature
            g[q + i] = mass * z[q + i] / temperature
        }
    }

    /// The energy U(x) + m|v|²/2.
    public func energy(at z: [Double]) -> Double {
        let q = positionCount
        let kinetic = (q..<(2 * q)).reduce(0) { $0 + z[$1] * z[$1] }
        return potential.evaluate(Array(z[0..<q])) + 0.5 * mass * kinetic
    }

    /// ∂U/∂x_i at the positions of z.
    public func force(at z: [Double], _ i: Int) -> Double { -gradient[i].evaluate(Array(z[0..<positionCount])) }
}
