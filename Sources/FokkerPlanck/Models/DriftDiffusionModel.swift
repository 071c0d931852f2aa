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
    /// True when the model knows a potential Φ_eq whose Boltzmann weight e^{−Φ_eq} its diffusion
    /// balances: the drift splits as μ = −D∇Φ_eq + u, where −D∇Φ_eq is the part a zero-flux
    /// (detailed-balance) profile carries and u the transport (rotation, Hamiltonian flow) left
    /// over. The split is a discretization device only — any Φ_eq gives a consistent scheme — but
    /// the closer e^{−Φ_eq} is to the solution, the more of the flux is fitted exactly.
    var hasEquilibriumPotential: Bool { get }
    /// ∇Φ_eq(x), written into `g` (length d); called only when `hasEquilibriumPotential`.
    func equilibriumGradient(at x: [Double], into g: inout [Double])
    /// True when single entries of μ and D are cheaper to evaluate one at a time than the whole
    /// vector and matrix (expression models): then the scheme asks for μ_k and D_kk alone on faces.
    var evaluatesComponentwise: Bool { get }
    /// μ_k(x) (called only when `evaluatesComponentwise`).
    func driftComponent(_ k: Int, at x: [Double]) -> Double
    /// D_ij(x) (called only when `evaluatesComponentwise`).
    func diffusionEntry(_ i: Int, _ j: Int, at x: [Double]) -> Double
    /// For a position axis k of a phase-space model (dx_k = c · v_m dt, no noise on x_k), the
    /// velocity axis m whose sign a specular wall on k reverses; nil for every other axis.
    func velocityAxis(pairedWith k: Int) -> Int?
}

extension DriftDiffusionModel {
    public var evaluatesComponentwise: Bool { false }
    public func driftComponent(_ k: Int, at x: [Double]) -> Double { drift(at: x)[k] }
    public func diffusionEntry(_ i: Int, _ j: Int, at x: [Double]) -> Double { diffusion(at: x)[i, j] }
    public func velocityAxis(pairedWith k: Int) -> Int? { nil }
    public var hasEquilibriumPotential: Bool { false }
    public func equilibriumGradient(at x: [Double], into g: inout [Double]) {
        for i in 0..<g.count { g[i] = 0 }
    }
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
