import Foundation

/// Closed forms for the Ornstein–Uhlenbeck process dz = −A (z − c) dt + sqrt(2D) dW (THEORY §1).
///
/// * stationary density N(c, S) with A S + S Aᵀ = 2D (Lyapunov; needs A stable);
/// * stationary current J = −Q S⁻¹ (z − c) ρ with Q = A S − D antisymmetric, so that the leftover
///   field j = J/ρ = −Q S⁻¹ (z − c) is linear, ∇·j = 0 and j·∇Φ = 0;
/// * potential Φ = (T/2) (z − c)ᵀ S⁻¹ (z − c).
public struct OrnsteinUhlenbeckReference: Sendable {
    public let driftMatrix: Matrix
    public let diffusion: Matrix
    public let center: [Double]
    public let temperature: Double
    /// Stationary covariance S.
    public let covariance: Matrix
    public let precision: Matrix
    /// Q = A S − D.
    public let circulation: Matrix
    let normalisation: Double
    /// −Q S⁻¹, so that j(z) = velocityMatrix · (z − c).
    public let velocityMatrix: Matrix

    public init(driftMatrix a: Matrix, diffusion d: Matrix, center: [Double]? = nil, temperature: Double = 1) throws {
        let eigen = try a.eigenvalues()
        guard eigen.allSatisfy({ $0.re > 0 }) else {
            throw FokkerPlanckError.badInput(file: nil, keyPath: "model.drift_matrix", line: nil,
                message: "the drift matrix has an eigenvalue with non-positive real part, so the process has no stationary Gaussian")
        }
        driftMatrix = a
        diffusion = d
        self.center = center ?? [Double](repeating: 0, count: a.rows)
        self.temperature = temperature
        covariance = try Matrix.solveLyapunov(a, 2 * d)
        precision = try covariance.inverse()
        circulation = a * covariance - d
        velocityMatrix = -1 * (circulation * precision)
        let det = try covariance.determinant()
        guard det > 0 else {
            throw FokkerPlanckError.badInput(file: nil, keyPath: "model.diffusion", line: nil,
                message: "the stationary covariance is singular: the noise does not reach every direction")
        }
        normalisation = 1 / ((pow(2 * Double.pi, Double(a.rows)) * det).squareRoot())
    }

    public init(_ model: LinearModel) throws {
        try self.init(driftMatrix: model.driftMatrix, diffusion: model.diffusionMatrix, center: model.center,
                      temperature: model.temperature)
    }

    func offset(_ x: [Double]) -> [Double] { zip(x, center).map { $0 - $1 } }

    public func density(at x: [Double]) -> Double {
        normalisation * exp(-0.5 * precision.quadraticForm(offset(x)))
    }

    /// Φ = (T/2) zᵀ S⁻¹ z (minimum 0 at the centre).
    public func potential(at x: [Double]) -> Double { 0.5 * temperature * precision.quadraticForm(offset(x)) }

    /// j = J/ρ = −Q S⁻¹ (z − c).
    public func velocity(at x: [Double]) -> [Double] { velocityMatrix * offset(x) }

    /// J = j ρ.
    public func current(at x: [Double]) -> [Double] {
        let rho = density(at: x)
        return velocity(at: x).map { $0 * rho }
    }
}

/// Overdamped SGD on a quadratic loss f = ½ xᵀF x with constant diffusion D (Chaudhari & Soatto;
/// THEORY §2): dx = −F x dt + sqrt(2 β⁻¹ D) dW, β⁻¹ = η/(2b).
///
/// F S₀ + S₀ F = 2D gives Φ = −β⁻¹ log ρ = ½ xᵀ S₀⁻¹ x (covariance β⁻¹ S₀), Q = F S₀ − D, and the
/// leftover field j = (D S₀⁻¹ − F) x, which vanishes identically exactly when F and D commute —
/// an anisotropic D that commutes with F gives no current, yet Φ ≠ f unless D = I.
public struct QuadraticSGDReference: Sendable {
    public let hessian: Matrix
    public let diffusion: Matrix
    /// β⁻¹ = η / (2b).
    public let inverseTemperature: Double
    public let s0: Matrix
    public let s0Inverse: Matrix

    public init(hessian f: Matrix, diffusion d: Matrix, learningRate eta: Double, batchSize b: Double) throws {
        hessian = f
        diffusion = d
        inverseTemperature = eta / (2 * b)
        s0 = try Matrix.solveLyapunov(f, 2 * d)
        s0Inverse = try s0.inverse()
    }

    /// The equivalent OU model: A = F, diffusion β⁻¹ D, temperature β⁻¹.
    public var model: LinearModel {
        LinearModel(driftMatrix: hessian, diffusion: inverseTemperature * diffusion, temperature: inverseTemperature)
    }

    /// Stationary covariance β⁻¹ S₀.
    public var covariance: Matrix { inverseTemperature * s0 }
    /// Φ = ½ xᵀ S₀⁻¹ x.
    public func potential(at x: [Double]) -> Double { 0.5 * s0Inverse.quadraticForm(x) }
    /// j = (D S₀⁻¹ − F) x.
    public var velocityMatrix: Matrix { diffusion * s0Inverse - hessian }
    public func velocity(at x: [Double]) -> [Double] { velocityMatrix * x }
    /// ‖FD − DF‖ relative to ‖F‖‖D‖: zero exactly when the current vanishes.
    public var commutator: Double {
        (hessian * diffusion - diffusion * hessian).maxAbs / max(hessian.maxAbs * diffusion.maxAbs, .leastNormalMagnitude)
    }
}
