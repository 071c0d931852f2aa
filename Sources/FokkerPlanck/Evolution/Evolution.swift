import Foundation

/// Moments and extremes of one frame.
public struct FrameDiagnostics: Sendable {
    /// Σ ρ V.
    public let mass: Double
    /// Σ x ρ V / mass, per axis.
    public let mean: [Double]
    /// Σ (x − m)(x − m)ᵀ ρ V / mass, row-major d×d.
    public let covariance: [Double]
    public let minimum: Double

    public init(mass: Double, mean: [Double], covariance: [Double], minimum: Double) {
        self.mass = mass
        self.mean = mean
        self.covariance = covariance
        self.minimum = minimum
    }

    public init(density: [Double], grid: Grid) {
        let d = grid.dimension
        mass = grid.integrate(density)
        var first = [Double](repeating: 0, count: d)
        var second = [Double](repeating: 0, count: d * d)
        var x = [Double](repeating: 0, count: d)
        for c in 0..<grid.cellCount {
            grid.centre(c, into: &x)
            let w = density[c]
            for i in 0..<d {
                first[i] += w * x[i]
                for j in 0..<d { second[i * d + j] += w * x[i] * x[j] }
            }
        }
        let weight = grid.cellVolume / mass
        mean = first.map { $0 * weight }
        var covariance = second.map { $0 * weight }
        for i in 0..<d { for j in 0..<d { covariance[i * d + j] -= mean[i] * mean[j] } }
        self.covariance = covariance
        minimum = density.min() ?? 0
    }
}

/// Receives the frames of an evolution (the HDF5 writer, a progress line, tests). The stepping loop
/// knows nothing about files.
public protocol EvolutionObserver: AnyObject {
    func observe(frame: Int, time: Double, state: [Double], density: [Double], diagnostics: FrameDiagnostics) throws
}

/// Keeps every frame in memory: for validation runs, tests and small studies.
public final class FrameCollector: EvolutionObserver {
    public private(set) var times: [Double] = []
    public private(set) var densities: [[Double]] = []
    public private(set) var diagnostics: [FrameDiagnostics] = []

    public init() {}

    public func observe(frame: Int, time: Double, state: [Double], density: [Double], diagnostics: FrameDiagnostics) throws {
        times.append(time)
        densities.append(density)
        self.diagnostics.append(diagnostics)
    }
}

/// How an evolution ended.
public struct EvolutionSummary: Sendable {
    public enum Outcome: Sendable, Equatable {
        case completed
        /// `shouldStop` answered true (an interruption): the frames written so far are valid.
        case stopped
    }

    public let outcome: Outcome
    public let framesWritten: Int
    public let steps: Int
    public let dt: Double
    public let finalTime: Double
    /// The most negative density value of any step (0 if none).
    public let mostNegativeDensity: Double
    /// max over frames of |mass − initial mass|.
    public let massDrift: Double
    public let factorization: FactorizationStatistics
    public let seconds: Double
    /// GMRES iterations over all steps (0 with the direct solver).
    public var krylovIterations = 0
    /// How the steps were taken (`TimeStepper.integratorDescription`), for the `solver` attribute.
    public var integrator = ""
}

/// A time evolution: operator, initial density and time grid; `run` steps and hands frames to
/// observers.
public struct Evolution {
    public let discretization: any Discretization
    public let settings: EvolveSettings
    public let startTime: Double
    /// Steps between frames, and the step actually used: Δt is shrunk (never grown) so that frames
    /// fall on steps: Δt = t_end / (steps per frame · (frames − 1)).
    public let stepsPerFrame: Int
    /// The run's length: every frame interval's steps.
    var duration: Double { Double(stepsPerFrame * (max(settings.frames, 1) - 1)) * dt }
    public let dt: Double
    /// How the step systems are solved: the problem's `[solve]` settings (direct LU with its
    /// ordering, or GMRES with the separable preconditioner where no LU fits).
    public var solver = StationarySolver()

    /// A mass drift beyond this (relative) stops the run: each solve changes the mass by its
    /// residual's sum, ~√n · 1e-16 relative; even 10⁶ steps stay below 1e-9, while a real loss of
    /// conservation (a bug, a non-finite value) is far larger.
    public static let massTolerance = 1e-9
    /// A discrete mode growing by more than this over the run (λT, λ its rate, less its error
    /// estimate) fails a spectral run with absorbing walls: below it, the mode cannot move the
    /// written fields by more than this fraction of its own start, far under any estimate the
    /// run reports; round-off in λ (~1e-12 at 64² Legendre modes) times any sensible T is far below.
    public static let growingModeTolerance = 1e-6

    /// With absorbing walls every true mode decays (the escape rate is the slowest). A Galerkin
    /// method with too few modes for its drift (drift toward the centre, or rotation, outweighing
    /// diffusion at its coarsest scales) can have discrete modes that grow instead: its slow
    /// dynamics, the escape, are wrong, so the run fails up front rather than write them. Up to
    /// `denseModeLimit` unknowns (the under-resolved regime, where such modes live) every
    /// eigenvalue of M⁻¹L, densely; beyond, the 60 nearest 1/T (T the run's length: a mode that
    /// matters grows at a rate ≳ 1/T, and the shift keeps the nearly singular L — escape rates
    /// can be e^{−50} — out of the LU) by shift-and-invert Arnoldi from the start state (plus a
    /// fixed perturbation, so that no symmetry hides a mode), each Ritz value less its error.
    /// This replaced a check of the mass between frames, which cannot tell a growing mode from
    /// the Galerkin mass's transient: ou2d-transient with an absorbing x wall at 32² and 48² modes
    /// failed "mass rose" (+3e-5 by t = 0.1), yet the slowest eigenvalue there is −4.3e-6 and
    /// −1.8e-9 (SciPy on the dumped L, M: all decay); at 24² it is +1.2e-4 — the growing mode,
    /// which this finds. A review found the first version (30 Ritz values only, converged to
    /// 1e-3 of |λ|) blind to rotating modes (1.8 ± 11.3i at 12² modes, mass −4e33, exit 0); the
    /// dense path sees them, and `massBackstop` stops a run whose mass leaves what any error can
    /// explain. Finite volumes are monotone and skip it.
    static func checkForGrowingModes(_ stepper: TimeStepper, start: [Double], duration: Double) throws {
        guard duration > 0 else { return }
        var modes: [SlowestModes.Mode] = []
        if start.count <= denseModeLimit {
            modes = try SlowestModes.all(generator: stepper.generator, mass: stepper.mass)
        } else {
            // A fixed perturbation (a sine of the index: no seed, the same on every run).
            let scale = start.reduce(0) { max($0, abs($1)) }
            let vector = start.enumerated().map { $1 + 1e-3 * max(scale, 1) * sin(1.7 * Double($0) + 0.3) }
            var shift = 1 / duration
            for attempt in 0..<3 {
                do {
                    modes = try SlowestModes.nearest(shift, generator: stepper.generator, mass: stepper.mass, start: vector, vectors: 60)
                    break
                } catch {
                    // An eigenvalue on the shift (L − σM singular): move it. After three misses
                    // the mass backstop is what is left.
                    if attempt == 2 { return }
                    shift *= 3.7
                }
            }
        }
        // A Ritz value's real part less its error bound: unconverged ones far from the shift
        // carry errors that say so (ou2d-transient 24²: 1073 ± 7e3), converged ones are kept
        // whatever their relative accuracy (review: 2.13 ± 7.41i with error 0.03 is growing).
        let growing = modes.filter { ($0.re - $0.error) * duration > growingModeTolerance }
        guard let fastest = growing.max(by: { $0.re < $1.re }) else { return }
        throw FokkerPlanckError.solverFailed(String(format: "the discretization has a growing mode with absorbing walls, where every true mode decays: M⁻¹L has the eigenvalue %.4g%@, a factor e^{%.3g} over the run (%ld growing); too few modes for this drift: use more modes, or type = \"finite-volume\" (monotone)",
                                                    fastest.re, fastest.im == 0 ? "" : String(format: " %+.4gi", abs(fastest.im)), fastest.re * duration, growing.count))
    }

    /// Unknowns up to which `checkForGrowingModes` takes every eigenvalue densely (a whole refused
    /// run at 528 unknowns, assembly and dgeev included, takes 0.1 s here; dgeev grows like n³).
    static let denseModeLimit = 600

    /// With absorbing walls the true mass lies in [0, m₀]; the discrete one differs from it by
    /// the run's error. Beyond half the start outside that range it is no error but a mode the
    /// eigenvalue check did not see (review: mass 0.978 → −583 → −4e33 with a rotating drift),
    /// and the run fails with the frames so far kept.
    static let massBackstop = 0.5

    public init(discretization: any Discretization, settings: EvolveSettings, startTime: Double = 0) {
        self.discretization = discretization
        self.settings = settings
        self.startTime = startTime
        let intervals = max(settings.frames - 1, 1)
        let frameLength = settings.tEnd / Double(intervals)
        // Bounded so that the conversion cannot trap (Problem.checkEvolvable refuses such runs
        // with a message before they get here).
        let steps = (frameLength / settings.dt * (1 - 1e-12)).rounded(.up)
        // The exponential scheme has no step error: one exp(τL) per frame, whatever dt says.
        stepsPerFrame = settings.scheme == .exponential
            ? 1 : max(1, Int(min(steps.isFinite ? steps : EvolveSettings.maximumSteps, EvolveSettings.maximumSteps)))
        dt = frameLength / Double(stepsPerFrame)
    }

    /// Evolves from `initial`, the density at the output grid's cell centres.
    public func run(initial: [Double], observers: [any EvolutionObserver],
                    progress: ((_ step: Int, _ totalSteps: Int, _ time: Double) -> Void)? = nil,
                    shouldStop: () -> Bool = { false }) throws -> EvolutionSummary {
        try run(initialState: discretization.state(fromDensity: initial), observers: observers, progress: progress, shouldStop: shouldStop)
    }

    /// Evolves from a state of the discretization (`Discretization.initialState`).
    public func run(initialState: [Double], observers: [any EvolutionObserver],
                    progress: ((_ step: Int, _ totalSteps: Int, _ time: Double) -> Void)? = nil,
                    shouldStop: () -> Bool = { false }) throws -> EvolutionSummary {
        let start = DispatchTime.now()
        var cursor = try EvolutionCursor(evolution: self, state: initialState)
        // The unknowns of a spectral method are coefficients, whose signs say nothing: its
        // negativity is that of the density at the frames.
        var mostNegativeDensity = 0.0
        let conserving = !discretization.grid.axes.contains { $0.boundary == .absorbing }
        let initialMass = discretization.mass(of: cursor.state)
        var drift = 0.0
        let frames = max(settings.frames, 1)
        let totalSteps = stepsPerFrame * (frames - 1)

        func emit(_ frame: Int) throws -> FrameDiagnostics {
            let rho = cursor.state
            let density = discretization.density(of: rho)
            let diagnostics = discretization.diagnostics(of: rho, density: density)
            mostNegativeDensity = min(mostNegativeDensity, density.min() ?? 0)
            drift = max(drift, abs(diagnostics.mass - initialMass))
            let time = startTime + Double(frame * stepsPerFrame) * dt
            for observer in observers {
                try observer.observe(frame: frame, time: time, state: rho, density: density, diagnostics: diagnostics)
            }
            return diagnostics
        }

        _ = try emit(0)
        var written = 1
        var outcome = EvolutionSummary.Outcome.completed
        for frame in 1..<max(frames, 1) {
            guard try cursor.advance(shouldStop: shouldStop, progress: { progress?($0, totalSteps, $1) }) else {
                outcome = .stopped
                break
            }
            if !conserving {
                // Before the frame is written: the kept frames are the ones that made sense.
                let mass = discretization.mass(of: cursor.state)
                if !(mass >= -Self.massBackstop * initialMass && mass <= (1 + Self.massBackstop) * initialMass) {
                    throw FokkerPlanckError.solverFailed(String(format: "the mass is %.6g at t = %g from %.6g at the start, with absorbing walls (where it lies between 0 and the start, up to the run's error): the discretization has a growing mode; too few modes for this drift: use more modes, or type = \"finite-volume\" (monotone)",
                                                                mass, startTime + Double(frame * stepsPerFrame) * dt, initialMass))
                }
            }
            let diagnostics = try emit(frame)
            written += 1
            if conserving && abs(diagnostics.mass - initialMass) > Self.massTolerance * initialMass {
                throw FokkerPlanckError.solverFailed(String(format: "the mass drifted by %.3e at t = %g (tolerance %.0e)",
                                                            diagnostics.mass - initialMass, startTime + Double(frame * stepsPerFrame) * dt, Self.massTolerance))
            }
        }
        let stepper = cursor.stepper
        // The cursor's minimum over every step (0 for a spectral method, which tracks none).
        let mostNegative = min(cursor.mostNegative, mostNegativeDensity)
        return EvolutionSummary(outcome: outcome, framesWritten: written, steps: stepper.steps, dt: dt,
                                finalTime: startTime + Double(stepper.steps) * dt, mostNegativeDensity: mostNegative,
                                massDrift: drift, factorization: stepper.statistics, seconds: seconds(since: start),
                                krylovIterations: stepper.krylovIterations, integrator: stepper.integratorDescription)
    }
}

/// An evolution advanced one frame at a time: the run loop's, and the error estimate's coarse
/// runs, which keep pace with the fine run frame by frame (so nothing waits for them up front
/// and an interruption loses nothing).
public struct EvolutionCursor {
    public let evolution: Evolution
    var stepper: TimeStepper
    /// The current state (frame `frame`).
    public private(set) var state: [Double]
    public private(set) var frame = 0
    /// The most negative state value of any step so far (0 if none).
    public private(set) var mostNegative: Double

    /// Assembles and factors the step systems; `initial` is the density at the output grid's
    /// cell centres.
    public init(evolution: Evolution, initial: [Double]) throws {
        precondition(initial.count == evolution.discretization.grid.cellCount)
        try self.init(evolution: evolution, state: evolution.discretization.state(fromDensity: initial))
    }

    /// Assembles and factors the step systems, starting from a state of the discretization.
    public init(evolution: Evolution, state: [Double]) throws {
        let discretization = evolution.discretization
        precondition(state.count == discretization.stateCount)
        self.evolution = evolution
        let preconditioning = evolution.solver.method == .iterative ? try discretization.shiftedPreconditioning() : nil
        stepper = try TimeStepper(generator: discretization.assemble(), scheme: evolution.settings.scheme, dt: evolution.dt,
                                  dimension: discretization.grid.dimension, solver: evolution.solver, preconditioning: preconditioning,
                                  cellShape: discretization.unknownsAreCells ? discretization.grid.shape : nil,
                                  mass: discretization.massMatrix())
        // Every run that steps a spectral method between absorbing walls — this one and the error
        // estimate's half-mode runs — first asks whether a discrete mode grows.
        if !discretization.unknownsAreCells && discretization.grid.axes.contains(where: { $0.boundary == .absorbing }) {
            try Evolution.checkForGrowingModes(stepper, start: state, duration: evolution.duration)
        }
        self.state = state
        tracksNegativity = discretization.unknownsAreCells
        mostNegative = tracksNegativity ? min(0, state.min() ?? 0) : 0
    }

    /// Whether the unknowns are densities whose minimum means something (finite volumes).
    private let tracksNegativity: Bool

    /// Takes the steps of one frame interval. Returns false, at the last completed step, when
    /// `shouldStop` answers true (it is asked before every step).
    public mutating func advance(shouldStop: () -> Bool = { false },
                                 progress: ((_ step: Int, _ time: Double) -> Void)? = nil) throws -> Bool {
        let dt = evolution.dt, startTime = evolution.startTime
        for _ in 0..<evolution.stepsPerFrame {
            if shouldStop() { return false }
            state = try stepper.step(state)
            var minimum = 0.0
            for v in state {
                guard v.isFinite else {
                    let hint = stepper.scheme == .exponential ? "the exponential scheme has no step to shrink; try crank-nicolson or bdf2, and report the problem" : "try a smaller dt or bdf2"
                    throw FokkerPlanckError.solverFailed("the density became non-finite at t = \(startTime + Double(stepper.steps) * dt); \(hint)")
                }
                minimum = min(minimum, v)
            }
            if tracksNegativity { mostNegative = min(mostNegative, minimum) }
            progress?(stepper.steps, startTime + Double(stepper.steps) * dt)
        }
        frame += 1
        return true
    }
}
