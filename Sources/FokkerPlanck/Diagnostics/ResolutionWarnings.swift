import Foundation

/// Checks that catch a numerically meaningless result that would otherwise pass silently (exit 0,
/// only a diagnostic value showing it): an initial state narrower than the grid resolves, and a
/// density that swings negative. Each gives one sentence for stderr, also recorded in the output
/// file's `warnings` attribute, saying what to do.
public enum ResolutionWarnings {
    /// A model that approximates something else, out of its range: the heavy ball's modified
    /// equation when it misses the heavy ball's own stationary moments by more than 1 %.
    public static func model(_ problem: Problem) -> [String] {
        switch problem.model {
        case let .sgdMomentum(parameters, _), let .sgdMomentumStateDependent(parameters, _):
            guard parameters.modifiedEquation, let equation = try? HeavyBallModifiedEquation(parameters) else { return [] }
            return equation.modelWarning().map { [$0] } ?? []
        default:
            return []
        }
    }

    /// An initial density resolves when its standard deviation along every axis spans at least
    /// this many cells: a Gaussian of σ = 2h is sampled to ~1 % in its second moment (the discrete
    /// variance is σ² + h²/12), while one narrower than a cell is a spike the scheme cannot follow.
    public static let minimumCellsPerSigma = 2.0

    /// A density whose most negative value is below −this × its largest value is not resolved:
    /// second-order schemes undershoot by O(h²) near steep fronts, far less than 1e-3 of the peak
    /// on grids that resolve them.
    public static let negativeFraction = 1e-3

    /// The directions along which `density` (normalised, on `grid`) is narrower than two cells:
    /// each axis, and the narrowest direction of the covariance measured in cells (a Gaussian
    /// elongated along a diagonal can be sub-cell across it while every axis variance is large).
    public static func initial(_ density: [Double], grid: Grid) -> [String] {
        let moments = FrameDiagnostics(density: density, grid: grid)
        let d = grid.dimension
        var narrow: [String] = []
        for (k, axis) in grid.axes.enumerated() {
            let sigma = max(moments.covariance[k * d + k], 0).squareRoot()
            if sigma < minimumCellsPerSigma * axis.spacing {
                narrow.append(String(format: "%@ (σ = %.3g, h = %.3g)", axis.name, sigma, axis.spacing))
            }
        }
        if narrow.isEmpty, d > 1 {
            // Covariance in cell units: C_ij / (h_i h_j); its smallest eigenvalue is the narrowest width².
            var scaled = Matrix(rows: d, columns: d)
            for i in 0..<d { for j in 0..<d { scaled[i, j] = moments.covariance[i * d + j] / (grid.spacing[i] * grid.spacing[j]) } }
            if let smallest = try? scaled.symmetricEigenvalues().first, smallest.isFinite,
               max(smallest, 0).squareRoot() < minimumCellsPerSigma {
                narrow.append(String(format: "its narrowest direction (σ = %.2g cells)", max(smallest, 0).squareRoot()))
            }
        }
        guard !narrow.isEmpty else { return [] }
        return ["the initial density is narrower than 2 cells along " + narrow.joined(separator: ", ")
                + ": the grid does not resolve it and the first steps will swing negative; use more cells or a wider initial state, and the bdf2 scheme for a sharp start"]
    }

    /// A density that went negative beyond round-off and O(h²) undershoot.
    /// `spectral`: the density is a truncated expansion (its dips are the truncation's ripples;
    /// its moments come from the coefficients, exactly, whatever the dips).
    public static func solution(mostNegative: Double, largest: Double, evolving: Bool, spectral: Bool = false) -> [String] {
        guard largest > 0, mostNegative < -negativeFraction * largest else { return [] }
        if spectral {
            return [String(format: "the density dips negative (min ρ = %.3g, %.2g %% of max ρ = %.3g): the expansion is truncated too early (the moments come from the coefficients, not from these samples); use more modes%@",
                           mostNegative, 100 * -mostNegative / largest, largest,
                           evolving ? ", or a start the basis holds (a Gaussian not far narrower than the basis' scale)" : "")]
        }
        let hint = evolving ? "use more cells, a smaller dt, or the bdf2 scheme (L-stable: no oscillation from a sharp start)"
                            : "use more cells"
        let severity = mostNegative < -0.1 * largest ? "the result is not resolved and its moments are not to be trusted"
                                                      : "the grid under-resolves it; moments carry errors of about that size"
        return [String(format: "the density dips negative (min ρ = %.3g, %.2g %% of max ρ = %.3g): %@; %@",
                       mostNegative, 100 * -mostNegative / largest, largest, severity, hint)]
    }

    /// A zero-flux wall on a position axis of a phase-space model stops the flux v ρ at every
    /// velocity, so it forces ρ(x_w, v) = 0 for v ≠ 0: a boundary layer, not a bounce. It is
    /// harmless where the density never reaches the wall; where it does (more than
    /// `wallFraction` of the peak in the wall cells) the density near it is an artefact.
    /// Measured on a harmonic well cut off at 1.2σ: 50 % L1 error at every resolution.
    /// 1 % of the peak, the default error threshold: below it the boundary layer's share of the
    /// error is under what the error estimate already flags (at 1e-3 the shipped p = 2 transient,
    /// whose displaced start brushes a θ wall at 0.13 %, warned on every run).
    public static let wallFraction = 1e-2

    public static func zeroFluxPositionWalls(_ density: [Double], grid: Grid, model: any DriftDiffusionModel) -> [String] {
        let largest = density.max() ?? 0
        guard largest > 0 else { return [] }
        var index = [Int](repeating: 0, count: grid.dimension)
        var atWall = [Double](repeating: 0, count: grid.dimension)
        for c in 0..<grid.cellCount {
            grid.multiIndex(c, into: &index)
            for k in 0..<grid.dimension where index[k] == 0 || index[k] == grid.shape[k] - 1 {
                atWall[k] = max(atWall[k], abs(density[c]))
            }
        }
        return grid.axes.indices.compactMap { k in
            let axis = grid.axes[k]
            guard axis.boundary == .reflecting, let m = model.velocityAxis(pairedWith: k),
                  atWall[k] > wallFraction * largest else { return nil }
            return String(format: "the density reaches %.2g %% of its maximum at the zero-flux walls of the position axis %@: a reflecting wall there stops the flux %@·ρ at every %@ (ρ = 0 on the wall for %@ ≠ 0), a boundary layer rather than a bounce, and the density near it is an artefact; use boundary = \"specular\" for a hard wall, or widen the box until the density there is negligible",
                          100 * atWall[k] / largest, axis.name, grid.axes[m].name, grid.axes[m].name, grid.axes[m].name)
        }
    }

    /// A discretization whose unknowns are not the grid cells (spectral) solves on its own
    /// domain — the whole space for Hermite axes — and only samples ρ on `[grid]`: when that box
    /// misses more than 1e-6 of the mass, the written density does not hold all of it. The mass
    /// outside comes from the exact marginal of each axis (the union bound over axes); a sum of
    /// the written cells would mistake a coarse output grid's quadrature error for a missing tail.
    public static func massOutsideOutputGrid(_ solution: StationarySolution) -> [String] {
        massOutsideOutputGrid(solution.discretization, state: solution.state, density: solution.density)
    }

    /// The same for any state of the discretization (an evolve frame), its density given.
    public static func massOutsideOutputGrid(_ discretization: any Discretization, state: [Double], density: [Double]) -> [String] {
        guard !discretization.unknownsAreCells else { return [] }
        let grid = discretization.grid
        let mass = discretization.mass(of: state)
        guard mass > 0 else { return [] }
        guard let marginals = discretization.axisMarginals(of: state) else {
            let onGrid = grid.integrate(density)
            guard abs(onGrid - mass) > 1e-6 * abs(mass) else { return [] }
            return [String(format: "the [grid] box holds about %.8g of the mass (the spectral solution lives on the whole space; the box only samples it): widen [grid] to see all of it", onGrid / mass)]
        }
        // A truncated series can dip below 0 in a tail: a negative "outside" must not cancel
        // another axis' miss.
        let outside = zip(marginals, grid.axes).map { max(0, $0.massOutside($1.lower, $1.upper) / mass) }
        guard outside.reduce(0, +) > 1e-6 else { return [] }
        let axes = zip(grid.axes, outside).filter { $0.1 > 1e-7 }.map { String(format: "%@ %.2g", $0.0.name, $0.1) }
        return [String(format: "the [grid] box misses up to %.2g of the mass (%@; the spectral solution lives on the whole space, the box only samples it): widen [grid] along those axes to see all of it",
                       outside.reduce(0, +), axes.joined(separator: ", "))]
    }
}
