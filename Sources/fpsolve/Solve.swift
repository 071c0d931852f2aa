import ArgumentParser
import FokkerPlanck
import Foundation

struct Solve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Solve for the stationary density and write it, with its current, leftover field and potential, to HDF5.",
        discussion: """
            The result goes to -o, or to [output].file of the problem (default: the problem's name with .h5), relative to the working directory. It is written to a temporary file and renamed into place when complete, so a failed run never leaves a partial or clobbered file.
            """
    )

    @OptionGroup var options: ProblemOptions

    var json: Bool { options.json }
    var quiet: Bool { options.quiet }

    func run() throws {
        let start = DispatchTime.now()
        let signals = SignalWatch(exitsOutsideCriticalSection: true)
        let problem = try options.load()
        let boxWarnings = try problem.checkStationarySolvable()
        let output = try options.target(for: problem, estimatedBytes: StationaryOutput.estimatedBytes(problem: problem))
        let target = output.path

        if !quiet && !json { Terminal.progress("fpsolve: \(problem.grid.cellCount) cells, assembling and factorizing …") }
        let discretization = try problem.discretization()
        let solution = try problem.solver.solve(discretization)
        if !quiet && !json { Terminal.progress("fpsolve: estimating the error (solve on the grid coarsened by two) …") }
        let (estimate, estimateWarnings) = ErrorEstimate.run(for: solution, solver: problem.solver)
        let wall = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) * 1e-9
        let warnings = boxWarnings + ResolutionWarnings.solution(mostNegative: solution.minimumDensity, largest: solution.density.max() ?? 0, evolving: false,
                                                                  spectral: !solution.discretization.unknownsAreCells)
            // A boundary layer at a reflecting wall is a finite-volume artefact; spectral bases have no walls.
            + (discretization.unknownsAreCells ? ResolutionWarnings.zeroFluxPositionWalls(solution.density, grid: problem.grid, model: problem.model.coefficients) : [])
            + ResolutionWarnings.massOutsideOutputGrid(solution)
            + ResolutionWarnings.model(problem)
            + estimateWarnings
        try signals.critical {
            try StationaryOutput.write(problem: problem, solution: solution, wallSeconds: wall, warnings: warnings,
                                       estimate: estimate, to: output)
        }
        if signals.received != 0 {
            Terminal.error("fpsolve: interrupted while writing; the output was completed first and is in place: \(target)")
            throw ExitCode(128 + signals.received)
        }
        for warning in warnings { Terminal.error("fpsolve: warning: " + warning) }
        let total = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) * 1e-9

        if json {
            print(try jsonSummary(problem: problem, solution: solution, estimate: estimate, output: target, wall: total, warnings: warnings))
        } else if !quiet {
            print(humanSummary(problem: problem, solution: solution, estimate: estimate, output: target, wall: total))
        }
    }

    func humanSummary(problem: Problem, solution: StationarySolution, estimate: ErrorEstimate?, output: String, wall: Double) -> String {
        let grid = problem.grid
        let axes = grid.axes.map { "\($0.name) ∈ [\(fmt($0.lower)), \(fmt($0.upper))] (\($0.boundary.rawValue))" }.joined(separator: ", ")
        return """
            \(problem.title.printable)
              model     \(problem.model.typeName), d = \(grid.dimension), T = \(fmt(problem.model.temperature))
              grid      \(grid.shape.map(String.init).joined(separator: "×")) = \(grid.cellCount) cells; \(axes)
              solver    \(solverLine(problem: problem, solution: solution))
              time      \(String(format: "%.3f", wall)) s (assembly \(String(format: "%.3f", solution.assemblySeconds)) s, \(solution.krylov == nil ? "factor+solve" : "preconditioner+GMRES") \(String(format: "%.3f", solution.solveSeconds)) s)
              residual  \(String(format: "%.2e", solution.residual))  (‖Lρ‖∞ / ‖L‖∞‖ρ‖∞)
              mass      \(String(format: "%.15f", solution.mass))
              min ρ     \(String(format: "%.3e", solution.minimumDensity))
              error     \(estimateLine(estimate))
              output    \(output.printable)
            """
    }

    func estimateLine(_ estimate: ErrorEstimate?) -> String {
        guard let estimate else { return "not estimated (see the warnings)" }
        return String(format: "≈ %.2e relative L1 of ρ; mean ± %.1e, covariance ± %.1e (%@, %.3f s)",
                      estimate.density, estimate.mean, estimate.covariance, estimate.comparison, estimate.seconds)
    }

    func solverLine(problem: Problem, solution: StationarySolution) -> String {
        let stats = solution.factorization
        if let krylov = solution.krylov {
            return "GMRES(\(problem.solver.krylov.restart)), \(krylov.iterations) iterations, relative residual \(String(format: "%.1e", krylov.relativeResidual)); nnz(A) \(stats.matrixNonzeros), working memory \(String(format: "%.1f", stats.peakMemoryBytes / 1_048_576)) MiB; preconditioner \(solution.preconditionerSummary ?? "")"
        }
        return "UMFPACK LU, ordering \(stats.ordering): nnz(A) \(stats.matrixNonzeros), nnz(L+U) \(stats.lowerNonzeros + stats.upperNonzeros) (fill \(String(format: "%.1f", stats.fillRatio))×), peak \(String(format: "%.1f", stats.peakMemoryBytes / 1_048_576)) MiB"
    }

    func jsonSummary(problem: Problem, solution: StationarySolution, estimate: ErrorEstimate?, output: String, wall: Double, warnings: [String]) throws -> String {
        let stats = solution.factorization
        var object: [String: Any] = [
            "method": solution.krylov == nil ? "direct" : "iterative",
            "output": output,
            "title": problem.title,
            "model_type": problem.model.typeName,
            "cells": problem.grid.shape,
            "wall_seconds": wall,
            "assembly_seconds": solution.assemblySeconds,
            "solve_seconds": solution.solveSeconds,
            "residual": solution.residual,
            "mass": solution.mass,
            "min_density": solution.minimumDensity,
            "factor_nonzeros": stats.lowerNonzeros + stats.upperNonzeros,
            "matrix_nonzeros": stats.matrixNonzeros,
            "factor_peak_memory_bytes": stats.peakMemoryBytes,
            "ordering": stats.ordering,
            "warnings": warnings,
            // null when no estimate could be made (the warnings say why).
            "estimated_error": estimate.map { $0.density as Any } ?? NSNull(),
            "estimated_error_mean": estimate.map { $0.mean as Any } ?? NSNull(),
            "estimated_error_covariance": estimate.map { $0.covariance as Any } ?? NSNull(),
            "error_estimate_seconds": estimate.map { $0.seconds as Any } ?? NSNull(),
        ]
        if let krylov = solution.krylov {
            object["iterations"] = krylov.iterations
            object["krylov_relative_residual"] = krylov.relativeResidual
            object["preconditioner"] = solution.preconditionerSummary ?? ""
        }
        return try jsonText(object)
    }
}

func fmt(_ x: Double) -> String { String(format: "%g", x) }

/// What `solve` and `evolve` share: the problem, its overrides, the output and how to report.
struct ProblemOptions: ParsableArguments {
    @Argument(help: "The problem file (TOML).")
    var problem: String

    @Option(name: .shortAndLong, help: "The output HDF5 file (overrides [output].file).")
    var output: String?

    @Option(help: ArgumentHelp("Cell counts per axis, comma-separated (overrides grid.cells).", valueName: "n0,n1,…"))
    var cells: String?

    @Option(help: ArgumentHelp("Spectral modes per axis, comma-separated (overrides discretization.modes).", valueName: "m0,m1,…"))
    var modes: String?

    @Option(name: .customLong("set"), help: ArgumentHelp("Override one key of the problem file, e.g. model.temperature=0.5.", valueName: "KEY=VALUE"))
    var overrides: [String] = []

    @Flag(help: "Print one JSON object instead of the human summary.")
    var json = false

    @Flag(help: "Print nothing on success.")
    var quiet = false

    @Flag(help: "Replace an existing output file even when it is not an fpsolve output.")
    var force = false

    /// Reads the problem with the overrides, plus `extra` ones set by dedicated options
    /// (`("--dt", "evolve.dt=0.1")`); errors under those keys name the option.
    func load(extra: [(option: String, override: String)] = []) throws -> Problem {
        var all = overrides
        var origins: [String: String] = [:]
        var dedicated = extra
        if let cells { dedicated.append(("--cells", try Self.cellsOverride(cells))) }
        if let modes { dedicated.append(("--modes", try Self.cellsOverride(modes, option: "--modes", key: "discretization.modes"))) }
        for (option, override) in dedicated {
            all.append(override)
            origins[String(override.prefix { $0 != "=" })] = option
        }
        return try Problem(contentsOf: problem, overrides: all, origins: origins)
    }

    /// The output location, checked before any work (bad input: exit 2): `-o`, else the
    /// problem's `[output] file`.
    func target(for problem: Problem, estimatedBytes: Double) throws -> OutputTarget {
        var inputs = [self.problem]
        if case let .file(path)? = problem.evolve?.initial { inputs.append(path) }
        return try OutputTarget(checking: output ?? problem.output.file, keyPath: output == nil ? "output.file" : "-o",
                                inputs: inputs, force: force, estimatedBytes: estimatedBytes)
    }

    /// `--cells 200,200` as the override `grid.cells=[200,200]`.
    /// (`--modes 16,16` likewise as `discretization.modes=[16,16]`.)
    static func cellsOverride(_ cells: String, option: String = "--cells", key: String = "grid.cells") throws -> String {
        let counts = cells.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        guard !counts.isEmpty, counts.allSatisfy({ Int($0) != nil }) else {
            throw FokkerPlanckError.badInput(file: nil, keyPath: option, line: nil,
                                             message: "expected comma-separated whole numbers such as 200,200, found '\(cells.printable)'")
        }
        return "\(key)=[\(counts.joined(separator: ","))]"
    }
}
