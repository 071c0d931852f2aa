import Foundation

/// Finite volumes as a `Discretization`: the state is the density at the cell centres itself.
extension FiniteVolumeScheme: Discretization {
    public var stateCount: Int { grid.cellCount }
    public func mass(of state: [Double]) -> Double { grid.integrate(state) }
    public func density(of state: [Double]) -> [Double] { state }
    public func state(fromDensity density: [Double]) -> [Double] { density }
    public func currents(of state: [Double]) -> [[Double]] { cellCurrents(state) }
    public func diagnostics(of state: [Double], density: [Double]) -> FrameDiagnostics { FrameDiagnostics(density: density, grid: grid) }
    public var unknownsAreCells: Bool { true }

    public func stationaryResidual(of state: [Double], generator: SparseMatrix) -> Double {
        let (divergence, _) = fluxDivergence(state)
        let stateNorm = state.reduce(0) { max($0, abs($1)) }
        return divergence.reduce(0) { max($0, abs($1)) } / max(generator.infinityNorm * stateNorm, .leastNormalMagnitude)
    }

    public var resolution: [Int] { grid.shape }

    public func coarsened() -> (any Discretization)? {
        ErrorEstimate.coarseGrid(of: grid).map { FiniteVolumeScheme(grid: $0, model: model, driftFlux: driftFlux) }
    }

    public func shiftedPreconditioning() throws -> (any ShiftedPreconditioning)? {
        try SeparableDecomposition(scheme: self)
    }

    public var methodDescription: String {
        "finite volumes (\(driftFlux.description) drift fluxes, centred cross-diffusion)"
    }
}
