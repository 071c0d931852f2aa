import Foundation

/// The coefficients of an Itô diffusion dz = μ(z) dt + sqrt(2 D(z)) dW on R^d, whose density obeys
///
///     ∂ρ/∂t = −∇·J,   J_i = μ_i ρ − Σ_j ∂_j (D_ij ρ).
///
/// A model is a pure function of position: it holds parameters, never solver state, so that every
/// model plugs into the same finite-volume scheme. D must be symmetric positive semi-definite at
/// every point; it is stored row-major, `d[i * dimension + j]` = D_ij.
public protocol DriftDiffusionModel: Sendable {
    /// d, the number of state variables.
    var dimension: Int { get }
    /// T in Φ = −T log ρ.
    var temperature: Double { get }
    /// True when D does not depend on position (then the scheme evaluates it once).
    var hasConstantDiffusion: Bool { get }
    /// True when μ is affine in z (then the mean of μ over a segment is its midpoint value, and the
    /// scheme needs a single quadrature node per face).
    var hasAffineDrift: Bool { get }
    /// μ(x), written into `mu` (length d).
    func drift(at x: [Double], into mu: inout [Double])
    /// D(x), row-major d×d, written into `d`.
    func diffusion(at x: [Double], into d: inout [Double])
}

extension DriftDiffusionModel {
    public func drift(at x: [Double]) -> [Double] {
        var mu = [Double](repeating: 0, count: dimension)
        drift(at: x, into: &mu)
        return mu
    }

    public func diffusion(at x: [Double]) -> Matrix {
        var d = [Double](repeating: 0, count: dimension * dimension)
        diffusion(at: x, into: &d)
        return Matrix(rows: dimension, columns: dimension, elements: d)
    }
}
