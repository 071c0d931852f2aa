import Foundation

/// The fields derived from a density (SPEC §2), all at cell centres in grid order:
///
/// * potential Φ = −T log ρ, shifted so that min Φ = 0; NaN where ρ ≤ 0;
/// * current J_k from the discretization (finite volumes: its own face fluxes, the mean of the two
///   faces of each cell, so that the discrete divergence of a stationary J is zero to round-off);
/// * velocity (leftover field) j_k = J_k / ρ; NaN where ρ ≤ 0.
public struct DerivedFields: Sendable {
    public let potential: [Double]
    public let current: [[Double]]
    public let velocity: [[Double]]

    /// The fields of a state of `discretization` (`density` is its value on the output grid).
    public init(state: [Double], density: [Double], discretization: any Discretization, temperature: Double) {
        current = discretization.currents(of: state)
        velocity = current.map { jk in zip(jk, density).map { $1 > 0 ? $0 / $1 : .nan } }
        potential = Self.potential(density: density, temperature: temperature)
    }

    /// Φ = −T log ρ − min(−T log ρ), NaN where ρ ≤ 0.
    public static func potential(density: [Double], temperature: Double) -> [Double] {
        let raw = density.map { $0 > 0 ? -temperature * log($0) : Double.nan }
        let minimum = raw.filter { !$0.isNaN }.min() ?? 0
        return raw.map { $0 - minimum }
    }
}
