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

    public init(driftMatrix: Matrix, diffusion: Matrix, center: [Double]? = nil, temperature: Double = 1) {
        precondition(driftMatrix.isSquare && diffusion.rows == driftMatrix.rows && diffusion.isSquare)
        self.driftMatrix = driftMatrix
        self.diffusionMatrix = diffusion
        self.center = center ?? [Double](repeating: 0, count: driftMatrix.rows)
        self.temperature = temperature
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
