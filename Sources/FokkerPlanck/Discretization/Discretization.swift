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
    func coarsened() -> (any Discretization)?
    /// The preconditioner provider of the iterative method (nil when there is none).
    func shiftedPreconditioning() throws -> (any ShiftedPreconditioning)?
    /// One line for the output's `solver` attribute ("finite volumes (…)").
    var methodDescription: String { get }
    /// The unknown whose equation the stationary solve replaces by the normalisation (nil: the
    /// solver's choice, the middle cell). A spectral method pins the coefficient that carries
    /// the mass.
    var preferredPin: Int? { get }
    /// The state of an evolution's initial condition and the time it starts at. Finite volumes
    /// sample the density on their cells (`InitialCondition.density(on:)`); a spectral method
    /// expands it in its basis (exactly, for a Gaussian) or refuses what it cannot expand.
    func initialState(_ initial: EvolveSettings.InitialCondition) throws -> (state: [Double], startTime: Double)
    /// What a spectral state is, for the output beside its fields (nil for finite volumes, whose
    /// state is the density field itself).
    var spectralRecord: SpectralRecord? { get }
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

extension Discretization {
    public var preferredPin: Int? { nil }
    public var spectralRecord: SpectralRecord? { nil }

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
