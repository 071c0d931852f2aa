import Foundation

/// A discretization of the Fokker–Planck generator, dρ/dt = L ρ, on a state vector: the cell
/// averages of finite volumes (`FiniteVolumeScheme`), the expansion coefficients of a spectral
/// method (next). The stationary solve, the time steppers, the error estimates, the derived fields
/// and the writers depend on this, not on a concrete scheme.
///
/// Every discretization has L as a sparse matrix (so one sparse LU, GMRES or, later, a distributed
/// backend serves all), a mass functional, and evaluates a state on `grid` — the cell centres at
/// which fields are written (SPEC §5), whatever the unknowns are.
public protocol Discretization: Sendable {
    var model: any DriftDiffusionModel { get }
    /// The output grid: fields are evaluated at its cell centres.
    var grid: Grid { get }
    /// Length of a state vector.
    var stateCount: Int { get }
    /// The generator L.
    func assemble() -> SparseMatrix
    /// ∫ ρ of a state.
    func mass(of state: [Double]) -> Double
    /// ρ at the output grid's cell centres.
    func density(of state: [Double]) -> [Double]
    /// The state of a density given at the output grid's cell centres (an initial condition).
    func state(fromDensity density: [Double]) -> [Double]
    /// J at the output grid's cell centres, one array per axis.
    func currents(of state: [Double]) -> [[Double]]
    /// Mass, moments and extremes of a state; `density` is its density on the output grid,
    /// already evaluated (`density(of:)`), which a spectral method need not evaluate again.
    func diagnostics(of state: [Double], density: [Double]) -> FrameDiagnostics
    /// ‖L state‖∞ / (‖L‖∞ ‖state‖∞) for the assembled `generator` L, applied the
    /// discretization's own way (finite volumes: from the face fluxes).
    func stationaryResidual(of state: [Double], generator: SparseMatrix) -> Double
    /// True when the unknowns are the output grid's cells (finite volumes): then refining means
    /// more cells, and the density sums to the mass on the grid by construction.
    var unknownsAreCells: Bool { get }
    /// Cells (finite volumes) or modes (spectral) per axis.
    var resolution: [Int] { get }
    /// The same discretization at half the resolution (for error estimates); nil when too coarse.
    func coarsened() throws -> (any Discretization)?
    /// The preconditioner provider of the iterative method (nil when there is none).
    func shiftedPreconditioning() throws -> (any ShiftedPreconditioning)?
    /// One line for the output's `solver` attribute ("finite volumes (…)").
    var methodDescription: String { get }
    /// The unknown whose equation the stationary solve replaces by the normalisation (nil: the
    /// solver's choice, the middle cell). A spectral method pins the coefficient that carries
    /// the mass.
    var preferredPin: Int? { get }
    /// The mass matrix M of a Galerkin method, whose equations are M dc/dt = L c (nil: the
    /// identity — finite volumes, and spectral bases orthonormal in the state's inner product).
    /// The time steppers then solve (M − cΔt L) and the exponential scheme applies exp(τ M⁻¹L).
    func massMatrix() -> SparseMatrix?
    /// The equation the stationary solve puts in place of row `row` of L (a row that is zero by
    /// conservation): the normalisation Σ_j entries_j c_j = 1. nil: the solver pins one unknown
    /// (`preferredPin`, or the middle one) to 1 and normalises afterwards.
    var normalisationRow: (row: Int, entries: [(column: Int, value: Double)])? { get }
    /// The density (on the output grid) of the expansion's highest degrees alone — for a series
    /// converging geometrically or faster, its size estimates the truncation error with no second
    /// solve (nil: no such estimate; the error estimate compares with the half-resolution run).
    func truncationTail(of state: [Double]) -> [Double]?
    /// The size of what the basis cannot hold (relative L1 of ρ, first-order changes of the
    /// moments), from the residual the state leaves in a richer basis (nil: no such check).
    /// Unlike the tail and the half-resolution run, which both read the solution the basis
    /// holds, it sees a density whose content lies beyond the modes altogether; the error
    /// estimate is never below it.
    /// `resolvedSolve` applies the stationary solve's factorization (L with its normalisation row,
    /// that row's right-hand side 0): with it the correction includes the part of the error in
    /// the functions the basis holds, which the added functions drive.
    func unresolvedResidual(of state: [Double], resolvedSolve: (([Double]) throws -> [Double])?) -> UnresolvedContent?
    /// The state of an evolution's initial condition and the time it starts at. Finite volumes
    /// sample the density on their cells (`InitialCondition.density(on:)`); a spectral method
    /// expands it in its basis (exactly, for a Gaussian) or refuses what it cannot expand.
    func initialState(_ initial: EvolveSettings.InitialCondition) throws -> (state: [Double], startTime: Double)
    /// What a spectral state is, for the output beside its fields (nil for finite volumes, whose
    /// state is the density field itself).
    var spectralRecord: SpectralRecord? { get }
    /// The coefficients written as `spectral_coefficients` (one per row of the record's indices):
    /// the state itself, unless the record names another basis of the same space (a `chebyshev`
    /// axis: the Chebyshev coefficients of the computed polynomial).
    func recordedCoefficients(of state: [Double]) -> [Double]
    /// The exact marginal density of each axis, from the expansion (nil for finite volumes, whose
    /// marginals are sums over their own cells). A spectral state lives on the whole space, so
    /// these say how much of it the output box misses, with no quadrature error.
    func axisMarginals(of state: [Double]) -> [AxisMarginal]?
    /// ∫ ρ over the axes not in `keep`, at the cell centres of `keep`'s sub-grid (C order), from
    /// the expansion exactly; nil where the discretization has no closed form (finite volumes,
    /// whose marginal is the sum over their own cells).
    func marginal(of state: [Double], keeping keep: [Int]) -> [Double]?
}

/// The marginal density of one axis of a spectral state, in closed form: a Hermite series
/// ρ_k(z) = Σ_m b_m ψ_m((z − centre)/width)/width (ψ_m = He_m φ/√m!, the normalised Hermite
/// functions), or the uniform density of a periodic axis (`width` = nil: its mass lies in the box).
public struct AxisMarginal: Sendable {
    public var centre: Double
    public var width: Double?
    public var coefficients: [Double]

    /// ∫_lower^upper ρ_k: b_0 (Φ(x_b) − Φ(x_a)) − Σ_{m≥1} b_m [ψ_{m−1}(x)]_{x_a}^{x_b}/√m, since
    /// ∫ He_m φ = −He_{m−1} φ (x = (z − centre)/width).
    public func mass(from lower: Double, to upper: Double) -> Double {
        guard let width else { return coefficients.first ?? 0 }
        let a = (lower - centre) / width, b = (upper - centre) / width
        let degree = max(coefficients.count - 1, 0)
        var psiA = [Double](repeating: 0, count: degree + 1), psiB = psiA
        HermiteDiscretization.hermiteFunctions(a, into: &psiA)
        HermiteDiscretization.hermiteFunctions(b, into: &psiB)
        var mass = coefficients[0] * 0.5 * (erfc(-b / 2.squareRoot()) - erfc(-a / 2.squareRoot()))
        for m in stride(from: 1, to: coefficients.count, by: 1) {
            mass -= coefficients[m] * (psiB[m - 1] - psiA[m - 1]) / Double(m).squareRoot()
        }
        return mass
    }

    /// ρ_k(z) (nil for a periodic axis, whose marginal the position basis holds).
    public func density(at z: Double) -> Double? {
        guard let width else { return nil }
        var psi = [Double](repeating: 0, count: coefficients.count)
        HermiteDiscretization.hermiteFunctions((z - centre) / width, into: &psi)
        return zip(coefficients, psi).reduce(0) { $0 + $1.0 * $1.1 } / width
    }

    /// The mass outside [lower, upper] (0 for a periodic axis).
    public func massOutside(_ lower: Double, _ upper: Double) -> Double {
        guard width != nil else { return 0 }
        return (coefficients.first ?? 0) - mass(from: lower, to: upper)
    }
}

/// A spectral state's description in the output (SPEC §5): root attributes `spectral_basis`,
/// `spectral_modes` and the basis' own (centre, transform, period), and the multi-index of every
/// coefficient, so that `spectral_coefficients` can be summed again outside fpsolve.
public struct SpectralRecord: Sendable {
    public var basis: [String]
    public var modes: [Int]
    public var attributes: [(String, AttributeValue)]
    /// One multi-index per coefficient (rows), per axis (columns).
    public var indices: [[Int]]
    /// The expansion the coefficients are of (the `long_name` of `spectral_coefficients`).
    public var expansion: String
}

/// The size of what a basis cannot hold (`Discretization.unresolvedResidual`): the relative L1
/// norm of the first-order correction to ρ, and the largest change it makes to a mean and to a
/// covariance entry.
public struct UnresolvedContent: Sendable {
    public let density: Double
    public let mean: Double
    public let covariance: Double
}

extension Discretization {
    public var preferredPin: Int? { nil }
    public func massMatrix() -> SparseMatrix? { nil }
    public func truncationTail(of state: [Double]) -> [Double]? { nil }
    public func unresolvedResidual(of state: [Double], resolvedSolve: (([Double]) throws -> [Double])?) -> UnresolvedContent? { nil }
    /// The added functions' part alone (no factorization at hand).
    public func unresolvedResidual(of state: [Double]) -> UnresolvedContent? { unresolvedResidual(of: state, resolvedSolve: nil) }
    public var normalisationRow: (row: Int, entries: [(column: Int, value: Double)])? { nil }
    public var spectralRecord: SpectralRecord? { nil }
    public func recordedCoefficients(of state: [Double]) -> [Double] { state }
    public func axisMarginals(of state: [Double]) -> [AxisMarginal]? { nil }
    public func marginal(of state: [Double], keeping keep: [Int]) -> [Double]? { nil }

    /// ‖L state‖∞ / (‖L‖∞ ‖state‖∞) with L applied as the sparse matrix it is (a spectral
    /// method's coefficients; finite volumes apply it from their face fluxes instead).
    public func stationaryResidual(of state: [Double], generator: SparseMatrix) -> Double {
        let residual = generator.multiply(state)
        let stateNorm = state.reduce(0) { max($0, abs($1)) }
        return residual.reduce(0) { max($0, abs($1)) } / max(generator.infinityNorm * stateNorm, .leastNormalMagnitude)
    }

    public func initialState(_ initial: EvolveSettings.InitialCondition) throws -> (state: [Double], startTime: Double) {
        let (density, startTime) = try initial.density(on: grid)
        return (state(fromDensity: density), startTime)
    }
}
