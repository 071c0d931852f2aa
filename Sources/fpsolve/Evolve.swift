import ArgumentParser
import Dispatch
import FokkerPlanck
import Foundation
import Synchronization

struct Evolve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Evolve a density in time and write the frames (density and requested fields) to HDF5.",
        discussion: """
            Frames go to a temporary file beside the target, renamed onto it when the run completes. On SIGINT or SIGTERM the run stops at the next step and the frames done so far are kept, valid and marked complete = 0, in <target>.partial.h5; the target is not touched. Exit status: 0 done, 1 the solver failed (non-finite values, mass drift), 2 bad input, 130 interrupted (SIGINT), 143 terminated (SIGTERM).
            """
    )

    @OptionGroup var options: ProblemOptions

    @Option(name: .customLong("t-end"), help: "Final time (overrides evolve.t_end).")
    var tEnd: Double?

    @Option(help: "Time step (overrides evolve.dt); shrunk if needed so that frames fall on steps.")
    var dt: Double?

    @Option(help: "Number of frames written, t = 0 included (overrides evolve.frames).")
    var frames: Int?

    var json: Bool { options.json }
    var quiet: Bool { options.quiet }

    func run() throws {
        var extra: [(option: String, override: String)] = []
        if let tEnd { extra.append(("--t-end", "evolve.t_end=\(tEnd)")) }
        if let dt { extra.append(("--dt", "evolve.dt=\(dt)")) }
        if let frames { extra.append(("--frames", "evolve.frames=\(frames)")) }
        let problem = try options.load(extra: extra)
        let settings = try problem.checkEvolvable()
        let output = try options.target(for: problem, estimatedBytes: EvolutionWriter.estimatedBytes(problem: problem, frames: settings.frames))
        let target = output.path
        let discretization = try problem.discretization()
        // The initial state as the discretization holds it (cell averages, or the coefficients
        // of an exact expansion), and its density on the output grid.
        let (initialState, startTime) = try discretization.initialState(settings.initial!)
        let initial = discretization.density(of: initialState)
        // A grid that does not resolve the start matters to finite volumes; a spectral run's
        // start is judged by its error estimate (half the modes, from t = 0).
        let initialWarnings = (discretization.unknownsAreCells ? ResolutionWarnings.initial(initial, grid: problem.grid) : [])
            + ResolutionWarnings.model(problem)
        for warning in initialWarnings { Terminal.error("fpsolve: warning: " + warning) }

        var evolution = Evolution(discretization: discretization, settings: settings, startTime: startTime)
        evolution.solver = problem.solver
        let signals = SignalWatch()
        // The error estimate's two coarse runs keep pace with the run, frame by frame (about
        // 1.5 · 2^{−d} of its cost); here they are only prepared.
        var estimator: EvolutionErrorEstimator? = nil
        var missingEstimate: String? = nil
        do {
            estimator = try EvolutionErrorEstimator(evolution: evolution, initial: initial)
            if estimator == nil {
                missingEstimate = discretization.unknownsAreCells ? "no error estimate: an axis has fewer than 6 cells, too few to coarsen by two"
                                                                  : "no error estimate: an axis has fewer than 6 modes, too few to halve"
            }
        } catch {
            missingEstimate = discretization.unknownsAreCells ? "no error estimate: the runs on the grid coarsened by two could not be prepared (\(error))"
                                                              : "no error estimate: the runs at half the modes could not be prepared (\(error))"
        }
        if signals.received != 0 {
            // Interrupted while the estimate's coarse systems were factored: no frame exists yet.
            Terminal.error("fpsolve: interrupted before the first step; nothing was written and \(target.printable) was not touched")
            throw ExitCode(128 + signals.received)
        }
        let writer = try EvolutionWriter(problem: problem, discretization: discretization, target: output, initialWarnings: initialWarnings,
                                         estimator: estimator, missingEstimate: missingEstimate)
        let progress = ProgressLine(enabled: !quiet && !json && Terminal.stderrIsTerminal)

        let summary: EvolutionSummary
        do {
            summary = try evolution.run(initialState: initialState, observers: [writer],
                                        progress: { progress.update(step: $0, total: $1, time: $2) },
                                        shouldStop: { signals.received != 0 })
        } catch {
            progress.clear()
            if let partial = writer.abandon(nil) { Terminal.error("fpsolve: frames written so far kept in \(partial.printable)") }
            throw error
        }
        progress.clear()
        if summary.outcome == .stopped {
            let partial = writer.abandon(summary)
            let signal = signals.received
            Terminal.error("fpsolve: interrupted at t = \(summary.finalTime) after \(summary.framesWritten) frames; "
                           + (partial.map { "kept in \($0.printable) (complete = 0); " } ?? "") + "\(target.printable) was not touched")
            throw ExitCode(128 + signal)
        }
        try writer.finish(summary)
        for warning in writer.solutionWarnings { Terminal.error("fpsolve: warning: " + warning) }
        if json {
            let object: [String: Any] = [
                "output": target, "cells": problem.grid.shape, "wall_seconds": summary.seconds,
                "frames": summary.framesWritten, "steps": summary.steps, "dt": summary.dt, "t_final": summary.finalTime,
                "mass_drift": summary.massDrift, "most_negative_density": summary.mostNegativeDensity,
                "scheme": settings.scheme.rawValue, "warnings": writer.warnings,
                "estimated_error": estimator?.worst.map { $0.total as Any } ?? NSNull(),
                "estimated_error_space": estimator?.worst.map { $0.space as Any } ?? NSNull(),
                "estimated_error_time": estimator?.worst.map { $0.time as Any } ?? NSNull(),
                "estimated_error_at_time": estimator?.worst.map { $0.at as Any } ?? NSNull(),
                "error_estimate_seconds": estimator.map { $0.seconds as Any } ?? NSNull(),
            ]
            print(try jsonText(object))
        } else if !quiet {
            print("""
                \(problem.title.printable)
                  grid      \(problem.grid.shape.map(String.init).joined(separator: "×")) = \(problem.grid.cellCount) cells
                  scheme    \(settings.scheme.rawValue), dt = \(String(format: "%g", summary.dt)), \(summary.steps) steps, t = \(String(format: "%g", startTime)) → \(String(format: "%g", summary.finalTime))
                  time      \(String(format: "%.3f", summary.seconds)) s
                  mass      drift \(String(format: "%.2e", summary.massDrift)) over the run; most negative ρ \(String(format: "%.2e", summary.mostNegativeDensity))
                  error     \(errorLine(estimator))
                  output    \(target.printable) (\(summary.framesWritten) frames)
                """)
        }
    }
}

/// The summary's error line: the largest estimate over the frames, its parts and where it is.
func errorLine(_ estimator: EvolutionErrorEstimator?) -> String {
    guard let estimator, let worst = estimator.worst else { return "no estimate (see the warnings)" }
    let companion = estimator.companionDt.map { String(format: "dt′ = %g", $0) } ?? "exact in time"
    return String(format: "≈ %.2e relative L1 of ρ at worst (t = %g: space %.1e, time %.1e; %@, %@, %.3f s)",
                  worst.total, worst.at, worst.space, worst.time,
                  estimator.coarseDescription, companion, estimator.seconds)
}

/// Records SIGINT / SIGTERM instead of dying, so that a run can stop where nothing is lost.
/// Signals are delivered to a dispatch source on a background queue.
///
/// * `evolve` polls `received` between steps and keeps the frames done so far;
/// * `solve` (`exitsOutsideCriticalSection`) ends at once, exit 128 + signal, while it computes —
///   nothing is written yet — and defers the signal while its output is being written and moved
///   into place (`critical`), so that the target and its sidecar are both old or both new.
final class SignalWatch: Sendable {
    /// Shared with the handlers, which run on the signal queue.
    private final class State: Sendable {
        let signal = Atomic<Int32>(0)
        let critical = Mutex<Bool>(false)
    }

    private let state = State()
    nonisolated(unsafe) private var sources: [any DispatchSourceSignal] = []

    init(exitsOutsideCriticalSection: Bool = false) {
        let queue = DispatchQueue(label: "fpsolve.signals")
        let state = self.state
        for number in [SIGINT, SIGTERM] {
            Foundation.signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler {
                state.signal.store(number, ordering: .relaxed)
                guard exitsOutsideCriticalSection else { return }
                state.critical.withLock { critical in
                    // Holding the lock: the main thread cannot enter the critical section now.
                    if !critical {
                        Terminal.error("fpsolve: interrupted before any output was written; nothing was touched")
                        _exit(128 + number)
                    }
                }
            }
            source.resume()
            sources.append(source)
        }
    }

    /// The signal received (0 if none).
    var received: Int32 { state.signal.load(ordering: .relaxed) }

    /// Runs `body` with signals deferred (recorded, acted on afterwards).
    func critical<T>(_ body: () throws -> T) rethrows -> T {
        state.critical.withLock { $0 = true }
        defer { state.critical.withLock { $0 = false } }
        return try body()
    }
}

/// "t = 0.52 / 2  (1234 steps/s, ETA 3 s)" on stderr, redrawn at most twice a second.
final class ProgressLine {
    let enabled: Bool
    let start = DispatchTime.now()
    var last = DispatchTime.now()

    init(enabled: Bool) { self.enabled = enabled }

    func update(step: Int, total: Int, time: Double) {
        guard enabled else { return }
        let now = DispatchTime.now()
        guard now.uptimeNanoseconds - last.uptimeNanoseconds > 500_000_000 || step == total else { return }
        last = now
        let elapsed = Double(now.uptimeNanoseconds - start.uptimeNanoseconds) * 1e-9
        let rate = Double(step) / max(elapsed, 1e-9)
        let eta = Double(total - step) / max(rate, 1e-9)
        Terminal.writeStderr(String(format: "\r  t = %-10.4g step %d/%d  (%.0f steps/s, ETA %.0f s)   ", time, step, total, rate, eta))
    }

    func clear() {
        if enabled { Terminal.writeStderr("\r\u{1B}[K") }
    }
}
