import Foundation

/// An a posteriori estimate of the discretization error of a stationary solve, by Richardson
/// extrapolation: the same problem is solved on the grid coarsened by two along every axis
/// (n → ⌊n/2⌋ cells) and, when possible, by four; each coarse density is interpolated to the next
/// finer cell centres (tensor-product cubic Lagrange, whose O(H⁴) error is far below the O(h²)
/// being estimated), and with the order p the fine error is ‖ρ_h − I ρ_2h‖ / (r^p − 1), r ≈ 2.
///
/// p is observed from the two differences when it is plausible; the equilibrium-split fluxes
/// reach order 3 on OU and Langevin problems before settling at 2, and assuming 2 there would
/// overstate the error 7/3 times. Outside the asymptotic range the estimate is the difference
/// itself (see `init`), so under-resolved grids give large estimates, which is the point.
///
/// The coarse solves cost about 2^{−d} + 4^{−d} of the fine one for an iterative solve and less
/// for a direct one (LU fill grows faster than the cell count): `make bench` measures the ratio.
public struct ErrorEstimate: Sendable {
    /// Estimated ‖ρ_h − ρ‖₁ / ‖ρ_h‖₁.
    public let density: Double
    /// Estimated error of the mean, max over axes (absolute, in axis units).
    public let mean: Double
    /// Estimated error of the covariance, the largest entry (absolute).
    public let covariance: Double
    public let coarseCells: [Int]
    /// The coarse run's modes per axis for a spectral method (its cells are the output grid's,
    /// where the two are compared); nil for finite volumes.
    public let coarseModes: [Int]?
    /// How it was made, for the summaries ("Richardson, 100×100 cells"; for a spectral method
    /// "difference from 15 coefficients").
    public let comparison: String
    /// The order used: observed from three grids, 2 with two, NaN when the three grids were not
    /// in the asymptotic range (then the estimate is the fine–coarse difference itself).
    public let order: Double
    public let seconds: Double

    /// The order the estimate assumes.
    public static let assumedOrder = 2.0
    /// Default of `[solve] error_threshold`: an estimated relative L1 error of ρ above 1 % is
    /// reported on stderr and in the file's warnings.
    public static let defaultThreshold = 1e-2

    /// The grid coarsened by two, or nil when an axis would have fewer than 3 cells.
    public static func coarseGrid(of grid: Grid) -> Grid? {
        let cells = grid.shape.map { $0 / 2 }
        guard cells.allSatisfy({ $0 >= 3 }) else { return nil }
        return grid.withCells(cells)
    }

    /// Compares a fine solution with the coarse one, and the coarse one with the coarsest when
    /// there is one: then the observed order p = log_r(d₂/d₁) of the two differences is used when
    /// it is plausible (1.5…4.5, the asymptotic range of a second- or third-order scheme), and
    /// otherwise the difference d₁ itself is the estimate (no division: the grids are not in the
    /// asymptotic range, where the fine error can be as large as the difference — Roache's safety
    /// factor 3 for p = 2). With two grids only, p = 2.
    public init(fine: StationarySolution, coarse: StationarySolution, coarsest: StationarySolution?, seconds: Double) {
        func relativeDifference(_ a: StationarySolution, _ b: StationarySolution) -> Double {
            Self.relativeL1(a.density, Self.interpolate(b.density, from: b.grid, to: a.grid))
        }
        let ratio = Self.refinementRatio(coarse: coarse.grid, fine: fine.grid)
        let first = relativeDifference(fine, coarse)
        var order = Self.assumedOrder
        var factor = pow(ratio, order) - 1
        if ratio <= 1 {
            // Same output grid: a spectral method at half the modes. Its error falls
            // exponentially, so the fine error is far below the difference, which bounds it
            // (no order, no division).
            order = .nan
            factor = 1
        } else if let coarsest {
            let second = relativeDifference(coarse, coarsest)
            let observed = log(second / first) / log(ratio)
            if observed >= 1.5 && observed <= 4.5 {
                order = observed
                factor = pow(ratio, order) - 1
            } else {
                order = .nan
                factor = 1
            }
        }
        // A spectral method that can size its own tail (the last degrees of the expansion) uses
        // that instead, capped by the difference (which bounds the half-mode run's error, and so,
        // for a converging expansion, the fine one's).
        var tail: Double? = nil
        if ratio <= 1, let part = fine.discretization.truncationTail(of: fine.state) {
            // ‖tail‖₁ / ‖ρ‖₁ (sums over the cells; the cell volume cancels).
            tail = part.reduce(0) { $0 + abs($1) } / max(fine.density.reduce(0) { $0 + abs($1) }, .leastNormalMagnitude)
            // A tail below round-off says the truncation is, not that ρ is that accurate: never
            // below ε √(coefficients), the round-off of sums over them (the fourier torus at 33²:
            // tail 6e-19, true error 4.4e-15 against a floor of 7e-15; rings of 48–511 modes
            // 7e-16–2e-15 against 1.5e-15–5e-15).
            tail = max(tail!, Double.ulpOfOne * Double(fine.discretization.stateCount).squareRoot())
        }
        var estimate = min(first / factor, tail ?? .infinity)
        // What neither the tail nor the half-mode run can see — content beyond the modes on some
        // axis — shows in the residual the solution leaves in a richer basis; never below that.
        let residual = ratio <= 1 ? (fine.unresolved ?? fine.discretization.unresolvedResidual(of: fine.state)) : nil
        let unresolved = residual.map { $0.density > estimate } ?? false
        if unresolved { estimate = residual!.density }
        density = estimate
        let fineMoments = fine.discretization.diagnostics(of: fine.state, density: fine.density)
        let coarseMoments = coarse.discretization.diagnostics(of: coarse.state, density: coarse.density)
        mean = max(zip(fineMoments.mean, coarseMoments.mean).map { abs($0 - $1) }.max()! / factor, residual?.mean ?? 0)
        covariance = max(zip(fineMoments.covariance, coarseMoments.covariance).map { abs($0 - $1) }.max()! / factor, residual?.covariance ?? 0)
        coarseCells = coarse.grid.shape
        coarseModes = coarse.discretization.unknownsAreCells ? nil : coarse.discretization.resolution
        comparison = unresolved ? "residual in twice the modes, moments from it and the difference from \(coarse.discretization.stateCount) coefficients"
                   : ratio <= 1 ? (tail != nil ? "tail of the expansion (its last degrees), moments from the difference from \(coarse.discretization.stateCount) coefficients" : "difference from \(coarse.discretization.stateCount) coefficients")
                                : "Richardson, \(coarse.grid.shape.map(String.init).joined(separator: "×")) cells"
        self.order = order
        self.seconds = seconds
    }

    /// ‖a − b‖₁ / ‖a‖₁ (sums over the cells; the cell volume cancels).
    static func relativeL1(_ a: [Double], _ b: [Double]) -> Double {
        var difference = 0.0, norm = 0.0
        for c in a.indices {
            difference += abs(a[c] - b[c])
            norm += abs(a[c])
        }
        return difference / max(norm, .leastNormalMagnitude)
    }

    /// r, the smallest ratio of coarse to fine cell widths over the axes (2, or 2.33 from 7 cells
    /// to 3; 1 when both are the same output grid).
    static func refinementRatio(coarse: Grid, fine: Grid) -> Double {
        zip(coarse.spacing, fine.spacing).map { $0 / $1 }.min() ?? 2
    }

    /// Interpolates cell-centre values from `coarse` to the centres of `fine` (same box), one axis
    /// at a time, with 4-point Lagrange stencils (3 points when an axis has 3 cells), shifted
    /// inwards at walls and wrapped on periodic axes.
    public static func interpolate(_ values: [Double], from coarse: Grid, to fine: Grid) -> [Double] {
        var current = values
        var shape = coarse.shape
        for k in 0..<fine.dimension {
            let axisCoarse = coarse.axes[k], axisFine = fine.axes[k]
            let nc = axisCoarse.cells, nf = axisFine.cells
            let points = min(4, nc)
            // Stencil start and weights for every fine index.
            var starts = [Int](repeating: 0, count: nf)
            var weights = [Double](repeating: 0, count: nf * points)
            for i in 0..<nf {
                let t = (axisFine.centre(i) - axisCoarse.lower) / axisCoarse.spacing - 0.5
                var start = Int(floor(t)) - (points - 1) / 2
                if axisCoarse.boundary != .periodic { start = min(max(start, 0), nc - points) }
                starts[i] = start
                for a in 0..<points {
                    var w = 1.0
                    for b in 0..<points where b != a { w *= (t - Double(start + b)) / Double(a - b) }
                    weights[i * points + a] = w
                }
            }
            var newShape = shape
            newShape[k] = nf
            let outer = shape[0..<k].reduce(1, *), inner = shape[(k + 1)...].reduce(1, *)
            var next = [Double](repeating: 0, count: outer * nf * inner)
            for o in 0..<outer {
                for i in 0..<nf {
                    for a in 0..<points {
                        let source = ((starts[i] + a) % nc + nc) % nc
                        let w = weights[i * points + a]
                        let from = (o * nc + source) * inner, to = (o * nf + i) * inner
                        for m in 0..<inner { next[to + m] += w * current[from + m] }
                    }
                }
            }
            current = next
            shape = newShape
        }
        return current
    }
}

extension StationarySolver {
    /// Solves the problem again on the grid coarsened by two and compares (`ErrorEstimate`). nil
    /// when the grid is too coarse to coarsen; throws when the coarse solve fails.
    public func estimateError(of solution: StationarySolution) throws -> ErrorEstimate? {
        guard let coarser = try solution.discretization.coarsened() else { return nil }
        let start = DispatchTime.now()
        let coarse = try solve(coarser, sizingUnresolved: false)
        var coarsest: StationarySolution? = nil
        // A third solve serves the observed order on grids; a spectral comparison (same output
        // grid) does not use it.
        if coarser.grid != solution.grid, let coarsest_ = try? coarser.coarsened() { coarsest = try? solve(coarsest_, sizingUnresolved: false) }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) * 1e-9
        return ErrorEstimate(fine: solution, coarse: coarse, coarsest: coarsest, seconds: seconds)
    }
}

extension ErrorEstimate {
    /// The estimate for a solve, and the warnings to give with it: the estimate above the
    /// solver's threshold (saying along which axis to refine), or why there is none.
    public static func run(for solution: StationarySolution, solver: StationarySolver) -> (ErrorEstimate?, [String]) {
        let grid = solution.grid
        let estimate: ErrorEstimate?
        do {
            estimate = try solver.estimateError(of: solution)
        } catch {
            guard solution.discretization.unknownsAreCells else {
                return (nil, ["no error estimate: the solve at half the modes failed (\(error)); an expansion that short does not hold the density, so this one may not either: check it with more modes"])
            }
            return (nil, ["no error estimate: the solve on the grid coarsened by two failed (\(error)); a grid that coarse does not resolve the density, so this one may not either: check it on a finer grid"])
        }
        let spectral = !solution.discretization.unknownsAreCells
        guard let estimate else {
            return (nil, [spectral ? "no error estimate: an axis has fewer than 6 modes, too few to halve"
                                   : "no error estimate: an axis has fewer than 6 cells, too few to coarsen by two"])
        }
        guard !(estimate.density <= solver.errorThreshold) else { return (estimate, []) }
        if spectral {
            let hermite = solution.discretization is HermiteDiscretization
                ? " (a Hermite basis of linear models: or leave discretization.scale and center out, the default basis is the stationary covariance's)" : ""
            return (estimate, [String(format: "the estimated relative L1 error of ρ is %.2g, above the threshold %.2g ([solve] error_threshold): use more modes%@, or widen the threshold if that accuracy is enough",
                                      estimate.density, solver.errorThreshold, hermite)])
        }
        // The axis with the fewest cells per standard deviation of the solution.
        let moments = FrameDiagnostics(density: solution.density, grid: grid)
        let d = grid.dimension
        let resolution = (0..<d).map { k in max(moments.covariance[k * d + k], 0).squareRoot() / grid.axes[k].spacing }
        let worst = resolution.indices.min { resolution[$0] < resolution[$1] }!
        return (estimate, [String(format: "the estimated relative L1 error of ρ is %.2g, above the threshold %.2g ([solve] error_threshold): use more cells, first along %@ (σ spans %.1f cells there), or widen the threshold if that accuracy is enough",
                                  estimate.density, solver.errorThreshold, grid.axes[worst].name, resolution[worst])])
    }
}
