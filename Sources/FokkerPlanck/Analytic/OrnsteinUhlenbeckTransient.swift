import Foundation

/// The transient of dz = −A (z − c) dt + sqrt(2D) dW from N(m₀, C₀) (THEORY §1): the density stays
/// Gaussian, N(m(t), C(t)) with
///
///     m(t) = c + e^{−At} (m₀ − c),   C(t) = S − e^{−At} (S − C₀) e^{−Aᵀt},
///
/// S the stationary covariance (A S + S Aᵀ = 2D). Matrix exponentials by Padé (LAPACK).
public struct OrnsteinUhlenbeckTransient: Sendable {
    public let stationary: OrnsteinUhlenbeckReference
    public let initialMean: [Double]
    public let initialCovariance: Matrix

    public init(_ model: LinearModel, initialMean: [Double], initialCovariance: Matrix) throws {
        stationary = try OrnsteinUhlenbeckReference(model)
        self.initialMean = initialMean
        self.initialCovariance = initialCovariance
    }

    public func propagator(at t: Double) throws -> Matrix { try (-t * stationary.driftMatrix).exponential() }

    public func mean(at t: Double) throws -> [Double] {
        let offset = zip(initialMean, stationary.center).map { $0 - $1 }
        return zip(try propagator(at: t) * offset, stationary.center).map { $0 + $1 }
    }

    public func covariance(at t: Double) throws -> Matrix {
        let e = try propagator(at: t)
        let s = stationary.covariance
        return s - e * (s - initialCovariance) * e.transposed
    }

    /// The Gaussian density N(m(t), C(t)) as a function of position.
    public func density(at t: Double) throws -> ([Double]) -> Double {
        let m = try mean(at: t)
        let c = try covariance(at: t)
        let precision = try c.inverse()
        let norm = 1 / (pow(2 * Double.pi, Double(m.count)) * (try c.determinant())).squareRoot()
        return { x in norm * exp(-0.5 * precision.quadraticForm(zip(x, m).map { $0 - $1 })) }
    }
}
