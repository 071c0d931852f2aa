import Foundation

/// Ornstein–Uhlenbeck process (problem-file `type = "linear"`):
///
///     dz = −A (z − c) dt + sqrt(2D) dW,   μ(z) = −A (z − c),  D constant, symmetric PSD.
///
/// When A is stable its stationary density is N(c, S) with A S + S Aᵀ = 2D (see
/// `OrnsteinUhlenbeckReference`). D may be degenerate (zero rows for axes without noise, as for the
/// positions of phase space); the scheme then transports along those axes without diffusion.
public struct LinearModel: DriftDiffusionModel, Equatable {
    public let driftMatrix: Matrix
    public let diffusionMatrix: Matrix
    public let center: [Double]
    public let temperature: Double
    /// S⁻¹, the precision of the stationary Gaussian N(c, S) (A S + S Aᵀ = 2D), when A is stable
    /// and S non-singular: then Φ_eq = ½ (z − c)ᵀ S⁻¹ (z − c) and the drift splits into the part
    /// −D S⁻¹ (z − c) that the noise balances and the circulation (D S⁻¹ − A)(z − c).
    public let equilibriumPrecision: Matrix?
    /// Position axis → its velocity axis, for the phase-space form of `sgd-momentum` (θ_i moves
    /// with v_i); empty for a plain OU process. See `velocityAxis(pairedWith:)`.
    public let velocityAxes: [Int: Int]

    public init(driftMatrix: Matrix, diffusion: Matrix, center: [Double]? = nil, temperature: Double = 1,
                velocityAxes: [Int: Int] = [:]) {
        precondition(driftMatrix.isSquare && diffusion.rows == driftMatrix.rows && diffusion.isSquare)
        self.driftMatrix = driftMatrix
        self.diffusionMatrix = diffusion
        self.center = center ?? [Double](repeating: 0, count: driftMatrix.rows)
        self.temperature = temperature
        self.velocityAxes = velocityAxes
        let precision = (try? OrnsteinUhlenbeckReference(driftMatrix: driftMatrix, diffusion: diffusion))?.precision
        equilibriumPrecision = precision.flatMap { p in p.elements.allSatisfy(\.isFinite) ? p : nil }
    }

    public var hasEquilibriumPotential: Bool { equilibriumPrecision != nil }
    public func velocityAxis(pairedWith k: Int) -> Int? { velocityAxes[k] }

    public func equilibriumGradient(at x: [Double], into g: inout [Double]) {
        guard let p = equilibriumPrecision else { return }
        let n = dimension
        for i in 0..<n {
            var s = 0.0
            for j in 0..<n { s += p.elements[i * n + j] * (x[j] - center[j]) }
            g[i] = s
        }
    }

    public var dimension: Int { driftMatrix.rows }
    public var hasConstantDiffusion: Bool { true }
    public var hasAffineDrift: Bool { true }

    public func drift(at x: [Double], into mu: inout [Double]) {
        let n = dimension
        for i in 0..<n {
            var s = 0.0
            for j in 0..<n { s -= driftMatrix.elements[i * n + j] * (x[j] - center[j]) }
            mu[i] = s
        }
    }

    public func diffusion(at x: [Double], into d: inout [Double]) {
        for i in 0..<d.count { d[i] = diffusionMatrix.elements[i] }
    }
}
