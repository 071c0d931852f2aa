import Foundation

/// Chaudhari & Soatto's overdamped SGD (problem-file `type = "sgd"`, THEORY §2):
///
///     ρ_t = ∇·(∇f ρ + β⁻¹ ∇·(D ρ)),   β⁻¹ = η / (2b),
///
/// i.e. μ = −∇f and the diffusion tensor β⁻¹D(z). The loss is an expression f(z) (its gradient
/// symbolic) or the quadratic ½ (z − m)ᵀ H (z − m); with a Hessian and a constant D the model is
/// an Ornstein–Uhlenbeck process and is solved as one (so the spectral bases apply).
public struct SGDParameters: Sendable {
    /// f(z), when the loss is given as an expression.
    public let loss: Formula?
    /// H, when the loss is quadratic.
    public let hessian: Matrix?
    /// m, the minimum of a quadratic loss.
    public let minimum: [Double]
    public let learningRate: Double
    public let batchSize: Double

    /// β⁻¹ = η / (2b), the temperature of the dynamics.
    public var inverseBeta: Double { learningRate / (2 * batchSize) }

    /// f(z): the expression, or ½ (z − m)ᵀ H (z − m).
    public func loss(at z: [Double]) -> Double {
        if let loss { return loss.evaluate(z) }
        let h = hessian!
        let y = zip(z, minimum).map { $0 - $1 }
        return 0.5 * h.quadraticForm(y)
    }
}

/// Meng et al.'s power-law dynamic (problem-file `type = "power-law"`, THEORY §4):
///
///     μ = −H (z − w*),   D(z) = (η/2) (1 + (z − w*)ᵀ K (z − w*)) Σ,
///
/// with σ a number (Σ = σI) or a matrix Σ, κ a number (K = κI) or a matrix K. In one dimension
/// D = (ησ/2)(1 + κ z²). When Σ⁻¹H = αK the Itô stationary density is (1 + zᵀKz)^{−(1 + α/η)}.
public struct PowerLawParameters: Sendable {
    public let hessian: Matrix
    public let learningRate: Double
    public let sigma: Matrix
    public let kappa: Matrix
    public let minimum: [Double]

    /// The coefficients as expressions of the axes (`names`), in `convention`.
    func model(names: [String], convention: StochasticConvention, temperature: Double) -> GeneralModel {
        let d = hessian.rows
        let y: [Formula] = (0..<d).map { minimum[$0] == 0 ? .variable($0, names[$0]) : .subtract(.variable($0, names[$0]), .number(minimum[$0])) }
        let drift = Self.linearDrift(hessian, minimum: minimum, names: names)
        var form = Formula.number(1)
        for a in 0..<d { for b in 0..<d where kappa[a, b] != 0 {
            form = .sum(form, .product(.number(kappa[a, b]), .product(y[a], y[b])))
        } }
        let diffusion: [Formula] = (0..<(d * d)).map { m in .product(.number(0.5 * learningRate * sigma.elements[m]), form) }
        return GeneralModel(drift: drift, diffusion: diffusion, convention: convention, temperature: temperature)
    }
}
