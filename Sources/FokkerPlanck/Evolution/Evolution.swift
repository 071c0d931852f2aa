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
    public let dt: Double
    /// How the step systems are solved: the problem's `[solve]` settings (direct LU with its
    /// ordering, or GMRES with the separable preconditioner where no LU fits).
    public var solver = StationarySolver()

    /// A mass drift beyond this (relative) stops the run: each solve changes the mass by its
    /// residual's sum, ~√n · 1e-16 relative; even 10⁶ steps stay below 1e-9, while a real loss of
    /// conservation (a bug, a non-finite value) is far larger.
    public static let massTolerance = 1e-9
    /// A rise of the mass between frames beyond this (relative to the start) with absorbing
    /// walls stops the run. The true mass only falls; round-off of the solves is ~1e-12, and a
    /// growing discrete mode shows at any level above it (measured: Legendre 48² on the ±5 box,
    /// +1.8e-4 by t = 50; 3×3 modes, ×25 by t = 2).
    public static let massRiseTolerance = 1e-9

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
        var previousMass = initialMass
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
            let diagnostics = try emit(frame)
            written += 1
            // With absorbing walls the mass can only fall. A rise means a discrete mode that grows
            // where every true one decays — an under-resolved Galerkin method (drift toward the
            // centre outweighing diffusion at its coarsest scales): its slow dynamics, the escape,
            // are wrong, so the run fails rather than write them. Finite volumes are monotone and
            // never rise (beyond round-off, far below this).
            if !conserving && diagnostics.mass - previousMass > Self.massRiseTolerance * initialMass {
                throw FokkerPlanckError.solverFailed(String(format: "the mass rose from %.9g to %.9g at t = %g with absorbing walls, where it can only fall: the discretization has a growing mode (too few modes for this drift); use more modes, or type = \"finite-volume\" (monotone)",
                                                            previousMass, diagnostics.mass, startTime + Double(frame * stepsPerFrame) * dt))
            }
            previousMass = diagnostics.mass
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
