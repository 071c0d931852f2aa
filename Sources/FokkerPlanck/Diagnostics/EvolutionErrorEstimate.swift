import Foundation

/// An a posteriori error estimate for an evolution, frame by frame, split into its space and time
/// parts (the evolve counterpart of `ErrorEstimate`).
///
/// Beside the run, the problem is evolved twice more on the grid coarsened by two (n → ⌊n/2⌋),
/// frame by frame in step with it (`EvolutionCursor`): once with the run's own Δt and once with a
/// companion step Δt′ (half the steps per frame, or twice as many when a frame is one step).
/// Then at every frame
///
/// * **space**: ‖ρ_h − I ρ_2h‖₁ / ‖ρ_h‖₁ / (r^p − 1), p = 2, r the grids' width ratio — the fine
///   run against the coarse one with the same Δt, whose time errors (the same to leading order)
///   cancel;
/// * **time**: ‖ρ_2h,Δt − ρ_2h,Δt′‖₁ / ‖ρ_2h,Δt‖₁ / |1 − (Δt′/Δt)^q|, q the scheme's order
///   (2 for Crank–Nicolson and BDF2, 1 for implicit Euler) — the time error of the coarse run,
///   which the time error of the fine run equals to leading order (it depends on the smooth
///   solution, not on h).
///
/// The estimate is their sum. It assumes the asymptotic orders; an under-resolved start (a
/// narrow Gaussian, a sharp step of Crank–Nicolson) shows up as large early values, which is
/// true of the fine run as well. The coarse runs cost about 1.5 · 2^{−d} of the fine run.
public final class EvolutionErrorEstimator: EvolutionObserver {
    public let coarseCells: [Int]
    /// The coarse runs' modes per axis for a spectral method; nil for finite volumes.
    public let coarseModes: [Int]?
    /// The coarse runs' resolution in words: "32×32 cells", or "8×8 modes" for a spectral method
    /// (whose output grid is the same).
    public let coarseDescription: String
    /// The run is spectral: its comparison is with half the modes.
    var spectral: Bool { coarseModes != nil }
    /// The companion time step Δt′ of the second coarse run.
    /// nil for the exponential scheme (no companion run: it has no step error).
    public let companionDt: Double?
    public let order: (space: Double, time: Double)
    /// Estimated relative L1 errors of ρ per frame of the fine run (NaN where not compared).
    public private(set) var space: [Double]
    public private(set) var time: [Double]
    public private(set) var seconds: Double
    /// The time of every frame observed.
    private var frameTimes: [Int: Double] = [:]
    /// Why the coarse runs stopped, when they failed.
    public private(set) var failure: String?

    let fineGrid: Grid
    let coarseGrid: Grid
    /// r^p − 1 for the grids' ratio r, and |1 − (Δt′/Δt)^q|.
    let spatialFactor: Double
    let temporalFactor: Double
    /// The two coarse runs, advanced a frame whenever the fine run has made one.
    private var same: EvolutionCursor
    /// nil for the exponential scheme, which has no step error to measure.
    private var companion: EvolutionCursor?

    /// Prepares the two coarse runs (assembly and factorization only). nil when an axis is too
    /// coarse to coarsen (fewer than 6 cells); throws when a coarse system cannot be prepared.
    public init?(evolution: Evolution, initial: [Double]) throws {
        let grid = evolution.discretization.grid
        guard let coarse = try evolution.discretization.coarsened() else { return nil }
        let start = DispatchTime.now()
        let coarseGrid = coarse.grid
        fineGrid = grid
        self.coarseGrid = coarseGrid
        coarseCells = coarseGrid.shape
        coarseModes = coarse.unknownsAreCells ? nil : coarse.resolution
        coarseDescription = coarse.resolution.map(String.init).joined(separator: "×") + (coarse.unknownsAreCells ? " cells" : " modes")
        let settings = evolution.settings
        order = (ErrorEstimate.assumedOrder, settings.scheme == .implicitEuler ? 1 : 2)

        // The initial state of the coarse runs: a Gaussian or uniform one built by the coarse
        // discretization as by the fine one (sampled on its cells, or expanded in its modes); a
        // delta (a Gaussian of the fine grid's width) or a file's density interpolated from the
        // fine one, with its mass.
        let coarseState: [Double]
        switch settings.initial {
        case .gaussian?, .uniform?:
            coarseState = try coarse.initialState(settings.initial!).state
        default:
            var coarseInitial = ErrorEstimate.interpolate(initial, from: grid, to: coarseGrid)
            let scale = grid.integrate(initial) / coarseGrid.integrate(coarseInitial)
            if scale.isFinite { for c in coarseInitial.indices { coarseInitial[c] *= scale } }
            coarseState = coarse.state(fromDensity: coarseInitial)
        }

        let frames = max(settings.frames, 1)
        var sameRun = Evolution(discretization: coarse, settings: settings, startTime: evolution.startTime)
        sameRun.solver = evolution.solver
        var companionSettings = settings
        let frameLength = settings.tEnd / Double(max(frames - 1, 1))
        let companionSteps = evolution.stepsPerFrame >= 2 ? evolution.stepsPerFrame / 2 : 2
        companionSettings.dt = frameLength / Double(companionSteps)
        var companionRun = Evolution(discretization: coarse, settings: companionSettings, startTime: evolution.startTime)
        companionRun.solver = evolution.solver
        companionDt = settings.scheme == .exponential ? nil : companionRun.dt
        same = try EvolutionCursor(evolution: sameRun, state: coarseState)
        // The exponential scheme's frames are exp(τL) applied once each: no step error, so no
        // second coarse run (it would only reproduce the first to round-off, at its cost).
        companion = settings.scheme == .exponential ? nil : try EvolutionCursor(evolution: companionRun, state: coarseState)

        space = [Double](repeating: .nan, count: frames)
        time = [Double](repeating: .nan, count: frames)
        // e(Δt) = C Δt^q: |ρ_Δt − ρ_Δt′| = C |Δt^q − Δt′^q|, so e(Δt) = |ρ_Δt − ρ_Δt′| / |1 − (Δt′/Δt)^q|
        // (the ratio form: Δt^q itself can underflow).
        // The exponential scheme has no step error (one exp(τL) per frame, to 2⁻⁵³): its time
        // part is 0 (∞ here), whatever the coarse pair's round-off difference.
        temporalFactor = settings.scheme == .exponential ? .infinity : abs(1 - pow(companionRun.dt / evolution.dt, order.time))
        // The grids' actual ratio (⌊n/2⌋ cells: 2.33 from 7 cells), as `ErrorEstimate` uses.
        // A spectral method's comparison (half the modes, on the same output grid) is the plain
        // difference: its error falls geometrically, so the coarse run's error is the larger by far.
        spatialFactor = !coarse.unknownsAreCells ? 1 : pow(ErrorEstimate.refinementRatio(coarse: coarseGrid, fine: grid), order.space) - 1
        seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) * 1e-9
    }

    public func observe(frame: Int, time t: Double, state: [Double], density: [Double], diagnostics: FrameDiagnostics) throws {
        frameTimes[frame] = t
        // The initial state of finite volumes is the data sampled, not an approximation (both
        // parts are 0 there); a spectral one is a truncated expansion, compared like any frame.
        if frame == 0 && !spectral { space[0] = 0; time[0] = 0; return }
        let start = DispatchTime.now()
        defer { seconds += Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) * 1e-9 }
        guard failure == nil else { return }
        // The coarse runs keep pace: one frame each per fine frame. Their failure (a coarse grid
        // that blows up) ends the estimate, never the run.
        do {
            while same.frame < frame { _ = try same.advance() }
            if companion != nil { while companion!.frame < frame { _ = try companion!.advance() } }
        } catch {
            failure = "\(error)"
            return
        }
        let discretization = same.evolution.discretization
        let a = discretization.density(of: same.state)
        time[frame] = companion.map { ErrorEstimate.relativeL1(a, discretization.density(of: $0.state)) / temporalFactor } ?? 0
        let interpolated = coarseGrid == fineGrid ? a : ErrorEstimate.interpolate(a, from: coarseGrid, to: fineGrid)
        space[frame] = ErrorEstimate.relativeL1(density, interpolated) / spatialFactor
    }

    /// The estimate of a frame (NaN when that frame was not compared).
    public func total(frame: Int) -> Double {
        frame < space.count ? space[frame] + time[frame] : .nan
    }

    /// The largest estimate over the compared frames, with its parts and the frame it is at.
    public var worst: (total: Double, space: Double, time: Double, at: Double)? {
        var best: (Double, Double, Double, Double)? = nil
        // Frame 0 is 0 by definition for finite volumes (a spectral start is compared); with no
        // later frame compared there is no estimate.
        for frame in space.indices.dropFirst(spectral ? 0 : 1) where !total(frame: frame).isNaN {
            guard let t = frameTimes[frame] else { continue }
            if best == nil || total(frame: frame) > best!.0 { best = (total(frame: frame), space[frame], time[frame], t) }
        }
        return best
    }

    /// The estimate above the threshold, saying whether to refine space or time.
    public func warnings(threshold: Double) -> [String] {
        let failed = failure.map { reason in [spectral
            ? "no error estimate: the comparison run with half the modes failed (\(reason)); that few modes do not hold the dynamics, so this run may not either: check it against more modes"
            : "the error estimate stopped at a frame where the runs on the grid coarsened by two failed (\(reason)); a grid that coarse does not resolve the density, so this one may not either: check it on a finer grid"] } ?? []
        guard let worst else {
            return failed.isEmpty ? ["no error estimate: no frame after the first could be compared (the run stopped early, or its time step is too small to tell the two coarse runs apart)"] : failed
        }
        guard failed.isEmpty else { return failed }
        guard !(worst.total <= threshold) else { return [] }
        let hint = worst.time > worst.space
            ? "mostly from the time steps: use a smaller dt"
            : spectral ? "mostly from the truncation: use more modes, or a start the basis holds (a Gaussian not far narrower than its scale)"
                       : "mostly from the grid: use more cells"
        return [String(format: "the estimated relative L1 error of ρ reaches %.2g at t = %g (space %.2g, time %.2g), above the threshold %.2g ([solve] error_threshold); %@, or widen the threshold if that accuracy is enough",
                       worst.total, worst.at, worst.space, worst.time, threshold, hint)]
    }
}
