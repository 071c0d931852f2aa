import Foundation
import TOMLKit

/// One validation case of `validation/cases/*.toml`: a problem, the closed form to compare with, the
/// resolutions, and the acceptance thresholds (each argued in the case file's comments).
///
/// ```toml
/// [case]
/// description = "…"
/// reference   = "ou-stationary"           # the closed form (THEORY §1)
/// problem     = "../../grids/ou2d.toml"   # relative to the case file
/// cells       = [[64, 64], [128, 128], [256, 256]]
/// quick_cells = [[32, 32], [64, 64]]      # for --quick
/// min_order   = 1.8                       # pairwise observed order of ρ, J and Φ
/// max_order   = 2.2                       #   two-sided: expected order ± 0.2
/// max_density_error = 1e-3                # L1 error of ρ at the finest grid
/// max_mass_error    = 1e-12
/// max_residual      = 1e-12
/// order_fields      = ["L1(ρ)", "L1(J)"]  # fields min_order applies to (default: all)
/// exact_in_space    = ["mean"]            # fields the scheme gets exactly in space: no order
/// max_exact_error   = 2e-4                #   check, but this bound at every resolution
/// bounded_fields    = ["heavy ball"]      # fields that level off at a model error: no order
/// max_bounded_error = 5e-3                #   check, but this bound at the finest resolution
/// ```
///
/// A spectral study solves the same problem with `[discretization] type = "spectral"` at several
/// mode counts on the problem's own output grid; it converges exponentially, so it is judged by
/// the error falling by a factor per step instead of by an order:
///
/// ```toml
/// set         = ["solve.method=\"direct\""]      # overrides applied to the problem (as --set)
/// basis       = ["hermite", "hermite"]         # makes the problem spectral (as --set discretization.…)
/// modes       = [[6, 6], [10, 10], [14, 14]]    # instead of cells
/// quick_modes = [[6, 6], [10, 10]]
/// min_decay   = 10                             # each order field falls ≥ 10× per step (until
/// decay_floor = 1e-12                          #   it is below decay_floor: round-off)
/// ```
public struct ValidationCase: Sendable {
    public enum Reference: String, Sendable, CaseIterable {
        /// Stationary Gaussian of a stable linear model (Lyapunov), with its current and potential.
        case ouStationary = "ou-stationary"
        /// The Gaussian transient of a linear model from the Gaussian `[evolve].initial`, at every
        /// frame: density, mean and covariance (errors are the maxima over the frames).
        case ouTransient = "ou-transient"
        /// The Boltzmann density exp(−(U + m|v|²/2)/T) of a Langevin model, with its Hamiltonian
        /// current (v, −∇U/m) ρ and potential Φ = U + m|v|²/2 (up to a constant).
        case langevinBoltzmann = "langevin-boltzmann"
        /// The exact stationary state of a linear model with diagonal A and D on reflecting or
        /// periodic axes (`SeparableStationaryReference`): box-normalised Gaussians, and rings
        /// tilted by an off-centre drift, with their constant currents.
        case separableExact = "separable-exact"
        /// A stationary density given in the case file as an expression of the axis names and the
        /// problem's `[parameters]` (`density`, unnormalised: normalised on the box by 3-point Gauss
        /// per cell), with the leftover field j = J/ρ as expressions (`velocity`, default 0:
        /// detailed balance) and optionally the density's `mode` (one axis) to compare with.
        case densityExpression = "density-expression"
        /// Any one-dimensional model on reflecting or periodic walls, by quadrature of its Itô
        /// coefficients (`OneDimensionalStationaryReference`): exp(∫μ/D)/D, or the tilted ring with
        /// its constant current.
        case oneDimensional = "one-dimensional"
        /// SGD with momentum with the state-dependent least-squares noise: its stationary mean and
        /// covariance, exact from the closed second-moment equations (`SGDMomentumMoments`).
        case sgdMomentumMoments = "sgd-momentum-moments"
    }

    public let name: String
    public let path: String
    public let description: String
    public let reference: Reference
    public let problem: Problem
    public let cells: [[Int]]
    public let quickCells: [[Int]]
    public let minOrder: Double?
    /// With `minOrder`, a two-sided check: the observed orders of the order fields must lie in
    /// [min_order, max_order] (expected ± 0.2 in the cases): an order far above the expected one
    /// means the error is not yet asymptotic, or the expectation is wrong.
    public let maxOrder: Double?
    public let maxDensityError: Double?
    public let maxMassError: Double
    public let maxResidual: Double
    /// Fields whose spatial error vanishes for this scheme (the mean of a linear model under
    /// centred fluxes): what remains is the time-stepping error, which does not shrink with h, so
    /// an observed order means nothing; they are held to `maxExactError` at every resolution.
    public let exactInSpace: [String]
    /// The fields `minOrder` applies to (nil: all); the others' orders are reported only.
    public let orderFields: [String]?
    public let maxExactError: Double?
    /// Fields measuring a model's distance to something it approximates (not a discretization
    /// error: it levels off), held to `maxBoundedError` at the finest resolution.
    public let boundedFields: [String]
    public let maxBoundedError: Double?
    /// Mode counts per axis of a spectral study (nil: a grid study over `cells`).
    public let modes: [[Int]]?
    public let quickModes: [[Int]]?
    /// A spectral study's convergence check: each order field's error falls by at least this
    /// factor from one mode count to the next, unless it is already below `decayFloor`.
    public let minDecay: Double?
    public let decayFloor: Double
    /// `KEY=VALUE` overrides applied to the problem file before it is solved (`--set`).
    public let overrides: [String]
    /// The problem file, resolved, for the per-resolution problems of a spectral study.
    let problemPath: String
    /// `density-expression`: ρ (unnormalised), j = J/ρ per axis, and the mode.
    let exactDensity: Formula?
    let exactVelocity: [Formula]?
    let exactMode: [Double]?
    public var isSpectral: Bool { modes != nil }

    public init(contentsOf path: String) throws {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw FokkerPlanckError.badInput(file: path, keyPath: nil, line: nil, message: "cannot read the validation case")
        }
        let table: TOMLTable
        do { table = try TOMLTable(string: text) } catch let error as TOMLParseError {
            throw FokkerPlanckError.badInput(file: path, keyPath: nil, line: error.source.begin.line, message: "not valid TOML: \(error.description)")
        }
        let context = DecodingContext(file: path, locator: SourceLocator(text: text))
        let root = try TOMLTableNode(table: table, path: "", context: context, allowed: ["case"])
        let node = try root.required("case").table(allowed: [
            "description", "reference", "problem", "cells", "quick_cells", "min_order", "max_order", "max_density_error",
            "max_mass_error", "max_residual", "exact_in_space", "max_exact_error", "order_fields", "bounded_fields", "max_bounded_error",
            "set", "basis", "modes", "quick_modes", "min_decay", "decay_floor", "density", "velocity", "mode",
        ])
        self.path = path
        name = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        description = try node.optional("description")?.string() ?? ""
        let referenceNode = try node.required("reference")
        let word = try referenceNode.string()
        guard let reference = Reference(rawValue: word) else {
            throw referenceNode.fail("unknown reference '\(word)'; available: " + Reference.allCases.map(\.rawValue).joined(separator: ", "))
        }
        self.reference = reference
        let given = try node.required("problem").string()
        let resolved = given.hasPrefix("/") ? given
            : URL(fileURLWithPath: path).deletingLastPathComponent().appendingPathComponent(given).standardized.path
        problemPath = resolved
        var overrides = try node.optional("set")?.strings() ?? []
        if let basis = try node.optional("basis")?.strings() {
            overrides += ["discretization.type=\"spectral\"", "discretization.basis=[" + basis.map { "\"\($0)\"" }.joined(separator: ", ") + "]"]
        }
        self.overrides = overrides
        let modesNode = node.optional("modes")
        let rawModes = try modesNode.map { try $0.array().map { try $0.array().map { try $0.integer() } } }
        // The problem as the study's first mode count solves it (decoding checks basis and modes).
        let firstModes = rawModes?.first.map { ["discretization.modes=" + Self.tomlList($0)] } ?? []
        let problem = try Problem(contentsOf: resolved, overrides: overrides + firstModes, origins: Self.overrideOrigins)
        self.problem = problem
        let d = problem.grid.dimension
        if let modesNode {
            guard case .spectral = problem.discretizationSettings else {
                throw modesNode.fail("modes needs a spectral problem: give basis = [...] (one per axis) or a problem with [discretization] type = \"spectral\"")
            }
            for key in ["cells", "quick_cells", "min_order", "max_order"] where node.optional(key) != nil {
                throw context.error("case.\(key)", "\(key) belongs to a grid study; a spectral study (modes) converges exponentially and is judged by min_decay")
            }
            let modes = try Self.cellList(modesNode, dimension: d, minimum: 3)!
            self.modes = modes
            quickModes = try Self.cellList(node.optional("quick_modes"), dimension: d, minimum: 3) ?? modes
            cells = [problem.grid.shape]
            quickCells = cells
        } else {
            if case .spectral = problem.discretizationSettings {
                throw context.error("case.modes", "the problem is spectral: give the study's mode counts as modes = [[…], …], not cells")
            }
            for key in ["quick_modes", "min_decay", "decay_floor"] where node.optional(key) != nil {
                throw context.error("case.\(key)", "\(key) belongs to a spectral study (modes = [[…], …])")
            }
            modes = nil
            quickModes = nil
            let cells = try Self.cellList(node.optional("cells"), dimension: d) ?? [problem.grid.shape]
            self.cells = cells
            quickCells = try Self.cellList(node.optional("quick_cells"), dimension: d) ?? cells
        }
        minDecay = try node.optional("min_decay")?.number()
        decayFloor = try node.optional("decay_floor")?.number() ?? 0
        minOrder = try node.optional("min_order")?.number()
        maxOrder = try node.optional("max_order")?.number()
        if maxOrder != nil && minOrder == nil {
            throw context.error("case.max_order", "max_order needs min_order (the two ends of the expected order ± its tolerance)")
        }
        maxDensityError = try node.optional("max_density_error")?.number()
        maxMassError = try node.optional("max_mass_error")?.number() ?? 1e-12
        maxResidual = try node.optional("max_residual")?.number() ?? 1e-12
        exactInSpace = try node.optional("exact_in_space")?.strings() ?? []
        orderFields = try node.optional("order_fields")?.strings()
        maxExactError = try node.optional("max_exact_error")?.number()
        boundedFields = try node.optional("bounded_fields")?.strings() ?? []
        maxBoundedError = try node.optional("max_bounded_error")?.number()
        if !boundedFields.isEmpty && maxBoundedError == nil {
            throw context.error("case.max_bounded_error", "bounded_fields needs max_bounded_error, the bound those fields are held to")
        }
        let names = problem.grid.axes.map(\.name)
        func parse(_ node: TOMLNode) throws -> Formula {
            var parser = FormulaParser(variables: names, parameters: problem.parameters)
            do { return try parser.parse(try node.string()) } catch let failure as FormulaParser.Failure {
                throw node.fail("an expression of \(names.joined(separator: ", ")) and the problem's [parameters]: \(failure.message)")
            }
        }
        if reference == .densityExpression {
            exactDensity = try parse(try node.required("density"))
            exactVelocity = try node.optional("velocity").map { velocityNode in
                let items = try velocityNode.array()
                guard items.count == d else { throw velocityNode.fail("expected \(d) expressions, one per axis") }
                return try items.map(parse)
            }
            exactMode = try node.optional("mode")?.numbers(count: d)
            if exactMode != nil && d != 1 { throw node.optional("mode")!.fail("mode is checked on one axis only") }
        } else {
            for key in ["density", "velocity", "mode"] where node.optional(key) != nil {
                throw context.error("case.\(key)", "\(key) belongs to the density-expression reference")
            }
            exactDensity = nil; exactVelocity = nil; exactMode = nil
        }
        if reference == .oneDimensional && d != 1 {
            throw context.error("case.reference", "the one-dimensional reference needs a problem on one axis, found \(d)")
        }
        if !exactInSpace.isEmpty && maxExactError == nil {
            throw context.error("case.max_exact_error", "exact_in_space needs max_exact_error, the bound those fields are held to")
        }
    }
}

extension ValidationCase {
    /// The case keys behind the problem keys they set, for messages ("from case.modes"); the
    /// case's own `set` entries read "from --set", as they are written.
    static let overrideOrigins = ["discretization.type": "case.basis", "discretization.basis": "case.basis",
                                  "discretization.modes": "case.modes"]

    static func tomlList(_ counts: [Int]) -> String { "[" + counts.map(String.init).joined(separator: ", ") + "]" }

    static func cellList(_ node: TOMLNode?, dimension: Int, minimum: Int = 3) throws -> [[Int]]? {
        guard let node else { return nil }
        return try node.array().map { entry in
            let counts = try entry.array().map { try $0.integer() }
            guard counts.count == dimension, counts.allSatisfy({ $0 >= minimum }) else {
                throw entry.fail("expected \(dimension) counts ≥ \(minimum)")
            }
            return counts
        }
    }
}

/// The outcome of one validation case.
public struct ValidationResult: Sendable {
    public struct Run: Sendable {
        /// Cells per axis (grid study) or modes per axis (spectral study).
        public var cells: [Int]
        public var spacing: Double
        /// Named errors against the closed form, in display order; the first is the density's L1.
        public let errors: [(name: String, value: Double)]
        public let mass: Double
        /// Relative residual of a stationary solve, or nil.
        public let residual: Double?
        public let seconds: Double
        /// The solve's own a posteriori estimate of the relative L1 error of ρ (`ErrorEstimate`),
        /// for an evolve run the largest over its frames (`EvolutionErrorEstimator`); nil for grids
        /// too coarse to coarsen.
        public var estimatedError: Double? = nil
        /// Seconds the estimate took (its coarse solve).
        public var estimateSeconds: Double? = nil

        public func error(_ name: String) -> Double? { errors.first { $0.name == name }?.value }
    }

    public let name: String
    public let runs: [Run]
    public let orders: [String: [Double]]
    /// A spectral study's error ratios from each mode count to the next, per field (empty for grids).
    public let decays: [String: [Double]]
    public let failures: [String]
    /// True for a spectral study: `Run.cells` are modes.
    public var spectral: Bool = false
    public var passed: Bool { failures.isEmpty }
}

extension ValidationCase {
    /// Solves the case at each resolution and checks it against its closed form.
    public func run(quick: Bool = false) throws -> ValidationResult {
        let resolutions = isSpectral ? (quick ? quickModes! : modes!) : (quick ? quickCells : cells)
        let needsLinear = [.ouStationary, .ouTransient, .separableExact].contains(reference)
        guard !needsLinear || problem.model.linearModel != nil else {
            throw FokkerPlanckError.badInput(file: path, keyPath: "case.reference", line: nil,
                                             message: "the \(reference.rawValue) reference needs a linear model")
        }
        var runs: [ValidationResult.Run] = []
        var failures: [String] = []
        for counts in resolutions {
            // A grid study refines the problem's grid; a spectral one keeps it (the output grid)
            // and sets the modes, through the problem decoding's own checks.
            let problem = isSpectral ? try Problem(contentsOf: problemPath, overrides: overrides + ["discretization.modes=" + Self.tomlList(counts)],
                                                   origins: Self.overrideOrigins)
                                     : self.problem
            let grid = isSpectral ? problem.grid : problem.grid.withCells(counts)
            let start = DispatchTime.now()
            var run: ValidationResult.Run
            let label = counts.map(String.init).joined(separator: "×")
            do {
                switch reference {
                case .ouStationary: run = try stationaryRun(problem, model: problem.model.linearModel!, grid: grid, start: start)
                case .ouTransient: run = try transientRun(problem, model: problem.model.linearModel!, grid: grid, start: start)
                case .langevinBoltzmann: run = try boltzmannRun(problem, grid: grid, start: start)
                case .separableExact: run = try separableRun(problem, model: problem.model.linearModel!, grid: grid, start: start)
                case .densityExpression: run = try expressionRun(problem, grid: grid, start: start)
                case .oneDimensional: run = try oneDimensionalRun(problem, grid: grid, start: start)
                case .sgdMomentumMoments: run = try momentsRun(problem, grid: grid, start: start)
                }
            } catch let FokkerPlanckError.solverFailed(message) {
                // A failed solve fails the case, not the whole validation run.
                failures.append("\(label): the solver failed: \(message)")
                continue
            }
            if isSpectral {
                run.cells = counts
                run.spacing = 1 / Double(counts.max()!)
            }
            runs.append(run)
            // Below decay_floor both the error and its estimate are round-off, and their ratio means nothing.
            if let estimate = run.estimatedError, let error = run.errors.first?.value, error > max(2 * estimate, decayFloor) {
                failures.append("\(label): L1(ρ) = \(String(format: "%.3e", error)) is more than twice its own estimate \(String(format: "%.3e", estimate))")
            }
            if abs(run.mass - 1) > maxMassError { failures.append("\(label): |mass − 1| = \(abs(run.mass - 1)) > \(maxMassError)") }
            if let residual = run.residual, residual > maxResidual { failures.append("\(label): residual \(residual) > \(maxResidual)") }
        }
        // Grid studies are judged by observed orders, spectral ones by the error's decay per step.
        var orders: [String: [Double]] = [:], decays: [String: [Double]] = [:]
        if runs.count >= 2 {
            let fields = runs[0].errors.map(\.name).filter { !exactInSpace.contains($0) }
            if isSpectral {
                for name in fields {
                    let errors = runs.map { $0.error(name)! }
                    decays[name] = zip(errors, errors.dropFirst()).map { $0 / $1 }
                }
                if let orderFields, let unknown = orderFields.first(where: { decays[$0] == nil }) {
                    throw FokkerPlanckError.badInput(file: path, keyPath: "case.order_fields", line: nil,
                                                     message: "'\(unknown)' is not a field here; fields: " + decays.keys.sorted().joined(separator: ", "))
                }
                if let minDecay {
                    for (field, factors) in decays.sorted(by: { $0.key < $1.key }) where orderFields?.contains(field) ?? true {
                        let errors = runs.map { $0.error(field)! }
                        for (k, factor) in factors.enumerated() where errors[k] > decayFloor && !(factor >= minDecay) {
                            failures.append(String(format: "%@: error fell only %.3g× from %@ to %@ modes (%.3e → %.3e), not the ≥ %g× of exponential convergence",
                                                   field, factor, runs[k].cells.map(String.init).joined(separator: "×"),
                                                   runs[k + 1].cells.map(String.init).joined(separator: "×"), errors[k], errors[k + 1], minDecay))
                        }
                    }
                }
            } else {
                let spacings = runs.map(\.spacing)
                for name in fields { orders[name] = observedOrders(errors: runs.map { $0.error(name)! }, spacings: spacings) }
                if let minOrder {
                    if let orderFields, let unknown = orderFields.first(where: { orders[$0] == nil }) {
                        throw FokkerPlanckError.badInput(file: path, keyPath: "case.order_fields", line: nil,
                                                         message: "'\(unknown)' is not a field with an order here; fields: " + orders.keys.sorted().joined(separator: ", "))
                    }
                    for (field, values) in orders.sorted(by: { $0.key < $1.key }) where orderFields?.contains(field) ?? true {
                        let listed = values.map { String(format: "%.2f", $0) }
                        if values.contains(where: { !($0 >= minOrder) }) {
                            failures.append("\(field): observed orders \(listed) below \(minOrder)")
                        }
                        if let maxOrder, values.contains(where: { !($0 <= maxOrder) }) {
                            failures.append("\(field): observed orders \(listed) above \(maxOrder)")
                        }
                    }
                }
            }
        }
        try checkExact(runs, into: &failures)
        // The error bound applies to the full-resolution study; a quick run is coarser by design.
        if !quick, let maxDensityError, let finest = runs.last, let error = finest.errors.first?.value, error > maxDensityError {
            failures.append("density L1 error \(error) at the \(isSpectral ? "most modes" : "finest grid") exceeds \(maxDensityError)")
        }
        return ValidationResult(name: name, runs: runs, orders: orders, decays: decays, failures: failures, spectral: isSpectral)
    }

    /// The fields the discretization gets exactly (`exact_in_space`), held to `max_exact_error`
    /// at every resolution.
    private func checkExact(_ runs: [ValidationResult.Run], into failures: inout [String]) throws {
        for field in exactInSpace {
            guard runs.allSatisfy({ $0.error(field) != nil }) else {
                throw FokkerPlanckError.badInput(file: path, keyPath: "case.exact_in_space", line: nil,
                                                 message: "'\(field)' is not a field of the \(reference.rawValue) reference; its fields: " + runs[0].errors.map(\.name).joined(separator: ", "))
            }
            for run in runs where !(run.error(field)! <= maxExactError!) {
                failures.append("\(field): error \(run.error(field)!) exceeds \(maxExactError!) (exact in space: what remains is time-stepping error or round-off)")
            }
        }
        for field in boundedFields {
            guard let finest = runs.last, let error = finest.error(field) else {
                throw FokkerPlanckError.badInput(file: path, keyPath: "case.bounded_fields", line: nil,
                                                 message: "'\(field)' is not a field of the \(reference.rawValue) reference; its fields: " + (runs.first?.errors.map(\.name).joined(separator: ", ") ?? ""))
            }
            if !(error <= maxBoundedError!) {
                failures.append("\(field): \(error) at the finest resolution exceeds \(maxBoundedError!)")
            }
        }
    }

    private func stationaryRun(_ problem: Problem, model: LinearModel, grid: Grid, start: DispatchTime) throws -> ValidationResult.Run {
        let reference = try OrnsteinUhlenbeckReference(model)
        let solution = try problem.solver.solve(try problem.discretization(on: grid))
        let errors = StationaryErrors(solution: solution, reference: reference)
        // Largest entry error of the covariance (all blocks, θ–v included).
        // A spectral method's moments come from its expansion, exactly (finite volumes: the same midpoint sums).
        let moments = solution.discretization.diagnostics(of: solution.state, density: solution.density)
        let covariance = zip(moments.covariance, reference.covariance.elements).map { abs($0 - $1) }.max()!
        return try estimated(problem, ValidationResult.Run(cells: grid.shape, spacing: grid.spacing.max()!,
                                    errors: [("L1(ρ)", errors.density), ("L1(J)", errors.current), ("Φ error", errors.potential),
                                             ("covariance", covariance)],
                                    mass: solution.mass, residual: solution.residual, seconds: seconds(since: start)), solution)
    }

    /// The run with the solve's own error estimate attached (none when the coarse solve fails:
    /// then only the error bounds of the case judge it).
    private func estimated(_ problem: Problem, _ run: ValidationResult.Run, _ solution: StationarySolution) throws -> ValidationResult.Run {
        var run = run
        do {
            if let estimate = try problem.solver.estimateError(of: solution) {
                run.estimatedError = estimate.density
                run.estimateSeconds = estimate.seconds
            }
        } catch FokkerPlanckError.solverFailed { }
        return run
    }

    private func separableRun(_ problem: Problem, model: LinearModel, grid: Grid, start: DispatchTime) throws -> ValidationResult.Run {
        let reference = try SeparableStationaryReference(model: model, grid: grid)
        let solution = try problem.solver.solve(try problem.discretization(on: grid))
        let errors = StationaryErrors(solution: solution, temperature: reference.temperature, density: reference.density(at:),
                                      current: reference.current(at:), potential: reference.potential(at:))
        return try estimated(problem, ValidationResult.Run(cells: grid.shape, spacing: grid.spacing.max()!,
                                    errors: [("L1(ρ)", errors.density), ("L1(J)", errors.current), ("Φ error", errors.potential)],
                                    mass: solution.mass, residual: solution.residual, seconds: seconds(since: start)), solution)
    }

    private func expressionRun(_ problem: Problem, grid: Grid, start: DispatchTime) throws -> ValidationResult.Run {
        let solution = try problem.solver.solve(try problem.discretization(on: grid))
        let density = exactDensity!
        let total = Self.integral(of: density.evaluate, over: grid)
        guard total > 0, total.isFinite else {
            throw FokkerPlanckError.badInput(file: path, keyPath: "case.density", line: nil, message: "the density's integral over the box is \(total), not a positive number")
        }
        let temperature = problem.model.temperature
        let exact: ([Double]) -> Double = { density.evaluate($0) / total }
        let errors = StationaryErrors(solution: solution, temperature: temperature, density: exact,
                                      current: { x in
                                          guard let velocity = self.exactVelocity else { return [Double](repeating: 0, count: x.count) }
                                          let rho = exact(x)
                                          return velocity.map { $0.evaluate(x) * rho }
                                      },
                                      potential: { -temperature * Foundation.log(density.evaluate($0)) })
        var fields: [(String, Double)] = [("L1(ρ)", errors.density), ("L1(J)", errors.current), ("Φ error", errors.potential)]
        if let mode = exactMode { fields.append(("mode", abs(Self.mode(of: solution.density, grid: grid) - mode[0]))) }
        return try estimated(problem, ValidationResult.Run(cells: grid.shape, spacing: grid.spacing.max()!, errors: fields,
                                                           mass: solution.mass, residual: solution.residual, seconds: seconds(since: start)), solution)
    }

    private func oneDimensionalRun(_ problem: Problem, grid: Grid, start: DispatchTime) throws -> ValidationResult.Run {
        let reference = try OneDimensionalStationaryReference(model: problem.model.coefficients, axis: grid.axes[0])
        let solution = try problem.solver.solve(try problem.discretization(on: grid))
        let temperature = problem.model.temperature
        let errors = StationaryErrors(solution: solution, temperature: temperature, density: reference.density(at:),
                                      current: { _ in [reference.current] },
                                      potential: { -temperature * Foundation.log(reference.density(at: $0)) })
        var fields = [("L1(ρ)", errors.density), ("L1(J)", errors.current), ("Φ error", errors.potential)]
        if grid.axes[0].boundary == .periodic {
            // The mean velocity ∫J over the ring (J ℓ), from the scheme's own current.
            let derived = DerivedFields(state: solution.state, density: solution.density, discretization: solution.discretization, temperature: temperature)
            fields.append(("mean velocity", abs(derived.current[0].reduce(0, +) * grid.cellVolume - reference.meanVelocity)))
        }
        return try estimated(problem, ValidationResult.Run(cells: grid.shape, spacing: grid.spacing.max()!, errors: fields,
                                    mass: solution.mass, residual: solution.residual, seconds: seconds(since: start)), solution)
    }

    private func momentsRun(_ problem: Problem, grid: Grid, start: DispatchTime) throws -> ValidationResult.Run {
        let parameters: SGDMomentumParameters
        switch problem.model {
        case let .sgdMomentumStateDependent(p, _): parameters = p
        case let .sgdMomentum(p, _) where p.modifiedEquation: parameters = p
        default:
            throw FokkerPlanckError.badInput(file: path, keyPath: "case.reference", line: nil,
                                             message: "the sgd-momentum-moments reference needs an sgd-momentum model with noise = \"state-dependent\" or modified_equation = true")
        }
        let equation = parameters.modifiedEquation ? try HeavyBallModifiedEquation(parameters) : nil
        let exact = try equation.map { try SGDMomentumMoments($0) } ?? SGDMomentumMoments(parameters)
        let solution = try problem.solver.solve(try problem.discretization(on: grid))
        let moments = solution.discretization.diagnostics(of: solution.state, density: solution.density)
        let mean = zip(moments.mean, exact.mean).map { abs($0 - $1) }.max()!
        let covariance = zip(moments.covariance, exact.covariance.elements).map { abs($0 - $1) }.max()!
        let variance = (0..<exact.covariance.rows).map { abs(moments.covariance[$0 * (exact.covariance.rows + 1)] / exact.covariance[$0, $0] - 1) }.max()!
        var errors = [("covariance", covariance), ("variances (relative)", variance), ("mean", mean)]
        if let equation {
            // The modified equation against the discrete heavy ball it models: not a
            // discretization error (it levels off at the equation's own O((ηh)²) error), so
            // reported, and bounded by the case's max_bounded_error.
            let discrete = try HeavyBallMoments(equation)
            let n = discrete.covariance.rows
            var worst = 0.0
            for i in 0..<n { for j in 0..<n {
                let scale = (discrete.covariance[i, i] * discrete.covariance[j, j]).squareRoot()
                worst = max(worst, abs(moments.covariance[i * n + j] - discrete.covariance[i, j]) / scale)
            } }
            errors.append(("heavy ball", worst))
        }
        // No closed-form density: the moments are the check (and the run carries no estimate,
        // which is about ρ).
        return ValidationResult.Run(cells: grid.shape, spacing: grid.spacing.max()!, errors: errors,
                                    mass: solution.mass, residual: solution.residual, seconds: seconds(since: start))
    }

    /// ∫ f over the box, 3-point Gauss–Legendre per axis in every cell (exact to degree 5 per cell).
    static func integral(of f: ([Double]) -> Double, over grid: Grid) -> Double {
        let s = (3.0 / 5.0).squareRoot() * 0.5
        let rule = [(0.5 - s, 5.0 / 18), (0.5, 8.0 / 18), (0.5 + s, 5.0 / 18)]
        let d = grid.dimension
        var x = [Double](repeating: 0, count: d), total = 0.0
        var index = [Int](repeating: 0, count: d)
        for cell in 0..<grid.cellCount {
            grid.multiIndex(cell, into: &index)
            for node in 0..<Int(pow(3.0, Double(d))) {
                var m = node, weight = 1.0
                for k in 0..<d {
                    let (t, w) = rule[m % 3]; m /= 3
                    let axis = grid.axes[k]
                    x[k] = axis.lower + (Double(index[k]) + t) * axis.spacing
                    weight *= w
                }
                total += weight * f(x)
            }
        }
        return total * grid.cellVolume
    }

    /// The maximum of a one-axis density: the vertex of the parabola through the largest cell
    /// value and its neighbours (second order, like the values).
    static func mode(of density: [Double], grid: Grid) -> Double {
        let axis = grid.axes[0]
        let i = density.indices.max { density[$0] < density[$1] }!
        guard i > 0, i < density.count - 1 else { return axis.centre(i) }
        let a = density[i - 1], b = density[i], c = density[i + 1]
        return axis.centre(i) + 0.5 * axis.spacing * (a - c) / (a - 2 * b + c)
    }

    private func boltzmannRun(_ problem: Problem, grid: Grid, start: DispatchTime) throws -> ValidationResult.Run {
        guard case let .langevin(model) = problem.model else {
            throw FokkerPlanckError.badInput(file: path, keyPath: "case.reference", line: nil,
                                             message: "the langevin-boltzmann reference needs a langevin model")
        }
        let solution = try problem.solver.solve(try problem.discretization(on: grid))
        // Finite volumes hold the mass in the box; a spectral method's velocities run over ℝ.
        let exact = LangevinBoltzmann(model: model, box: grid, wholeVelocityLine: !solution.discretization.unknownsAreCells)
        let q = model.positionCount
        // The Hamiltonian current (v, −∇U/m) ρ, and Φ = U + m|v|²/2 up to a constant.
        let errors = StationaryErrors(solution: solution, temperature: model.temperature, density: exact.density(at:),
                                      current: { z in
                                          let rho = exact.density(at: z)
                                          return (0..<q).map { z[q + $0] * rho } + (0..<q).map { model.force(at: z, $0) / model.mass * rho }
                                      },
                                      potential: model.energy(at:))
        return try estimated(problem, ValidationResult.Run(cells: grid.shape, spacing: grid.spacing.max()!,
                                    errors: [("L1(ρ)", errors.density), ("L1(J)", errors.current), ("Φ error", errors.potential)],
                                    mass: solution.mass, residual: solution.residual, seconds: seconds(since: start)), solution)
    }

    private func transientRun(_ problem: Problem, model: LinearModel, grid: Grid, start: DispatchTime) throws -> ValidationResult.Run {
        guard let settings = problem.evolve, case let .gaussian(mean0, covariance0)? = settings.initial else {
            throw FokkerPlanckError.badInput(file: path, keyPath: "case.reference", line: nil,
                                             message: "the ou-transient reference needs [evolve] with a gaussian initial condition")
        }
        let transient = try OrnsteinUhlenbeckTransient(model, initialMean: mean0, initialCovariance: covariance0)
        let recorder = FrameCollector()
        let discretization = try problem.discretization(on: grid)
        // The start as `fpsolve evolve` takes it: cell averages, or an exact expansion.
        let (initialState, startTime) = try discretization.initialState(settings.initial!)
        let initial = discretization.density(of: initialState)
        var evolution = Evolution(discretization: discretization, settings: settings, startTime: startTime)
        evolution.solver = problem.solver
        // The evolve error estimate, as `fpsolve evolve` makes it (none when the grid is too
        // coarse or a coarse run fails).
        let estimator = (try? EvolutionErrorEstimator(evolution: evolution, initial: initial)) ?? nil
        _ = try evolution.run(initialState: initialState, observers: [recorder] + (estimator.map { [$0] } ?? []))
        var density = 0.0, mean = 0.0, covariance = 0.0, mass = 1.0
        for (frame, t) in recorder.times.enumerated() where frame > 0 {
            let exact = grid.sample(try transient.density(at: t))
            density = max(density, zip(recorder.densities[frame], exact).reduce(0) { $0 + abs($1.0 - $1.1) } * grid.cellVolume)
            let d = recorder.diagnostics[frame]
            mean = max(mean, zip(d.mean, try transient.mean(at: t)).map { abs($0 - $1) }.max()!)
            covariance = max(covariance, zip(d.covariance, try transient.covariance(at: t).elements).map { abs($0 - $1) }.max()!)
            if abs(d.mass - 1) > abs(mass - 1) { mass = d.mass }
        }
        var run = ValidationResult.Run(cells: grid.shape, spacing: grid.spacing.max()!,
                                       errors: [("L1(ρ)", density), ("mean", mean), ("covariance", covariance)],
                                       mass: mass, residual: nil, seconds: seconds(since: start) - (estimator?.seconds ?? 0))
        run.estimatedError = estimator?.worst?.total
        run.estimateSeconds = estimator?.seconds
        return run
    }
}

