import CHDF5
import Foundation

/// Writes an evolution frame by frame (an `EvolutionObserver`), in the layout of SPEC §5:
/// `/time` (frames) as a dimension scale, `/<axis>` coordinates, and `/density` (and the requested
/// `/current_<axis>`, `/velocity_<axis>`, `/potential`) of shape (frames, n_0, …), chunked one frame
/// at a time and compressed; per-frame diagnostics `/mass`, `/min_density`, `/mean_<axis>` and
/// `/covariance_<a>_<b>` (a ≤ b) along `time`.
///
/// Nothing is lost: frames go to a temporary file beside the target, flushed after every frame,
/// and to the ParaView sidecar's temporary folder (one image per frame, or the 4-d marginals).
/// `finish` marks it `complete = 1` and, only when every write and the close succeeded, renames it
/// onto the target; `abandon` (an interrupted or failed run) marks it `complete = 0` and renames it
/// to `<target>.partial.h5` (or `.partial-1.h5`, … : an earlier partial result is never replaced),
/// leaving the target untouched.
public final class EvolutionWriter: EvolutionObserver {
    public let target: String
    let temporary: String
    let problem: Problem
    let discretization: any Discretization
    let file: HDF5File
    /// Marks the temporary file alive for other runs' clean-up (held until this writer goes).
    let claim: OutputTarget.Claim
    let sidecar: SidecarWriter
    let time: hid_t
    let scales: [hid_t]
    /// A spectral run's coefficient index (the dimension of its `spectral_coefficients` frames).
    var coefficientScale: hid_t? = nil
    var series: [String: hid_t] = [:]
    var seriesOrder: [String] = []
    var frames = 0
    /// The largest density value of any frame, for the resolution check.
    var largestDensity = 0.0
    /// The first frame's warning that a zero-flux wall on a phase-space position axis holds
    /// density (`ResolutionWarnings.zeroFluxPositionWalls`), if any frame gave one.
    var wallWarnings: [String] = []
    /// A spectral run's first frame whose density the [grid] box does not hold (all of it lives
    /// on the whole space), if any.
    var boxWarnings: [String] = []
    /// What is not resolved (`ResolutionWarnings`): the caller's warnings on the initial state…
    public let initialWarnings: [String]
    /// …and the writer's own on the solution, set when the run ends.
    public private(set) var solutionWarnings: [String] = []
    /// Both, as the root attribute `warnings` has them (one per line, empty when none).
    public var warnings: [String] { initialWarnings + solutionWarnings }

    /// Writes to a checked target (`OutputTarget`: what may be replaced was decided before the work).
    /// The error estimate, fed every frame by the writer and recorded with it (`estimated_error`
    /// per frame, the worst as root attributes); nil when there is none.
    let estimator: EvolutionErrorEstimator?
    /// Why there is no estimate, for the warnings (nil when there is one).
    let missingEstimate: String?

    public init(problem: Problem, discretization: any Discretization, target checked: OutputTarget, initialWarnings: [String] = [],
                estimator: EvolutionErrorEstimator? = nil, missingEstimate: String? = nil) throws {
        self.initialWarnings = initialWarnings
        self.estimator = estimator
        self.missingEstimate = missingEstimate
        let target = checked.path
        self.problem = problem
        self.discretization = discretization
        self.target = target
        temporary = OutputTarget.temporaryPath(for: target)
        file = try HDF5File.create(temporary)
        claim = OutputTarget.Claim(temporary)
        do {
            sidecar = try SidecarWriter(grid: discretization.grid, target: target)
        } catch {
            try? file.close()
            unlink(temporary)
            throw error
        }
        do {
            time = try file.createFrameSeries("time", frameShape: [], attributes: [
                ("long_name", .string("time")), ("units", .string("1")), ("axis", .string("T")),
            ])
            try file.makeDimensionScale(time, name: "time")
            scales = try StationaryOutput.writeCoordinates(grid: discretization.grid, file: file)
            if let record = discretization.spectralRecord {
                coefficientScale = try StationaryOutput.writeSpectralIndices(record, file: file)
            }
        } catch {
            try? file.close()
            unlink(temporary)
            sidecar.discard()
            throw error
        }
    }

    deinit {
        // Only reached without finish/abandon after an error: leave nothing behind.
        if file.id >= 0 {
            _ = closeAll()
            unlink(temporary)
            sidecar.discard()
        }
    }

    /// About the bytes an evolution output takes: every field of every frame, uncompressed (an
    /// upper bound for the deflated HDF5 frames), in the HDF5 file (2d + 2 values a cell) and in
    /// the sidecar (8: density, potential, two 3-vectors), plus per-frame scalars and metadata.
    /// A spectral run also stores its coefficients every frame (and their multi-indices once):
    /// at most Π modes of them — 387² modes on a 4×4 output grid is 1.2 MB a frame, whatever the cells.
    public static func estimatedBytes(problem: Problem, frames: Int) -> Double {
        let values = Double(2 * problem.grid.dimension + 2) + 8
        let coefficients = problem.spectralCoefficientBound
        return Double(frames) * (values * 8 * Double(problem.grid.cellCount) + 8 * coefficients + 8192)
            + 8 * Double(problem.grid.dimension) * coefficients + 1_048_576
    }

    /// The (time, …) dataset `name`, created at its first frame with the time scale and one
    /// scale per frame dimension: the grid's coordinates (`spatial`), none (a scalar), or
    /// `dimensions` given outright.
    private func frameSeries(_ name: String, spatial: Bool, attributes: [(String, AttributeValue)],
                             dimensions: [(size: Int, scale: hid_t)]? = nil) throws -> hid_t {
        if let id = series[name] { return id }
        let frameDimensions = dimensions ?? (spatial ? Array(zip(discretization.grid.shape, scales)) : [])
        let id = try file.createFrameSeries(name, frameShape: frameDimensions.map(\.0), attributes: attributes)
        try file.attachScale(time, to: id, dimension: 0)
        for (k, dimension) in frameDimensions.enumerated() { try file.attachScale(dimension.1, to: id, dimension: k + 1) }
        series[name] = id
        seriesOrder.append(name)
        return id
    }

    public func observe(frame: Int, time t: Double, state: [Double], density: [Double], diagnostics: FrameDiagnostics) throws {
        let grid = discretization.grid
        try file.appendFrame(time, index: frame, frameShape: [], values: [t])
        let fields = StationaryOutput.fieldDatasets(state: state, density: density, discretization: discretization, problem: problem)
        for dataset in fields {
            let id = try frameSeries(dataset.name, spatial: true, attributes: dataset.attributes)
            try file.appendFrame(id, index: frame, frameShape: grid.shape, values: dataset.values)
        }
        if let coefficientScale, let record = discretization.spectralRecord {
            // What the run evolved, frame by frame: (time, spectral_coefficient).
            let recorded = discretization.recordedCoefficients(of: state)
            let id = try frameSeries("spectral_coefficients", spatial: false,
                                     attributes: [("long_name", .string(record.expansion)), ("units", .string("1"))],
                                     dimensions: [(recorded.count, coefficientScale)])
            try file.appendFrame(id, index: frame, frameShape: [recorded.count], values: recorded)
        }
        try sidecar.add(fields: fields.map { ($0.name, $0.values) }, time: t)
        largestDensity = max(largestDensity, density.max() ?? 0)
        if boxWarnings.isEmpty && !discretization.unknownsAreCells {
            boxWarnings = ResolutionWarnings.massOutsideOutputGrid(discretization, state: state, density: density)
                .map { String(format: "at t = %g (the first such frame), ", t) + $0 }
        }
        if wallWarnings.isEmpty && discretization.unknownsAreCells {
            wallWarnings = ResolutionWarnings.zeroFluxPositionWalls(density, grid: grid, model: discretization.model)
                .map { String(format: "from t = %g on, ", t) + $0 }
        }
        var scalars: [(String, Double, String)] = [
            ("mass", diagnostics.mass, "Σ ρ V"),
            ("min_density", diagnostics.minimum, "smallest density value"),
        ]
        let d = grid.dimension
        for (k, axis) in grid.axes.enumerated() { scalars.append(("mean_\(axis.name)", diagnostics.mean[k], "mean of \(axis.name)")) }
        for a in 0..<d { for b in a..<d {
            let (na, nb) = (grid.axes[a].name, grid.axes[b].name)
            scalars.append(("covariance_\(na)_\(nb)", diagnostics.covariance[a * d + b], "covariance of \(na) and \(nb)"))
        } }
        if let estimator {
            try estimator.observe(frame: frame, time: t, state: state, density: density, diagnostics: diagnostics)
            scalars.append(("estimated_error", estimator.total(frame: frame),
                            "estimated relative L1 error of the density (space + time; NaN where not compared)"))
        }
        for (name, value, description) in scalars {
            let id = try frameSeries(name, spatial: false, attributes: [("long_name", .string(description)), ("units", .string("1"))])
            try file.appendFrame(id, index: frame, frameShape: [], values: [value])
        }
        try file.flush()
        frames = frame + 1
    }

    private func writeRoot(_ summary: EvolutionSummary?, complete: Bool) throws {
        let stats = summary?.factorization ?? FactorizationStatistics()
        let settings = problem.evolve
        // The stepper's own account once the run has one (it knows the mass matrix and which
        // exponential it used); before that (a partial file's first write), the scheme's name.
        let integrator = summary?.integrator ?? ""
        let solver = discretization.methodDescription + "; "
            + (integrator.isEmpty ? "\(settings?.scheme.rawValue ?? "") scheme" : integrator)
        var root = StationaryOutput.commonAttributes(problem: problem, solver: solver, factorization: stats)
        root.append(("discretization", .string(problem.discretizationSettings.typeName)))
        if let record = discretization.spectralRecord { root += StationaryOutput.spectralAttributes(record) }
        if let summary {
            solutionWarnings = ResolutionWarnings.solution(mostNegative: summary.mostNegativeDensity, largest: largestDensity, evolving: true,
                                                           spectral: !discretization.unknownsAreCells)
                + wallWarnings + boxWarnings
                + (estimator?.warnings(threshold: problem.solver.errorThreshold) ?? [])
                + (missingEstimate.map { [$0] } ?? [])
        }
        let worst = estimator?.worst
        root += [("estimated_error", .double(worst?.total ?? .nan)), ("estimated_error_space", .double(worst?.space ?? .nan)),
                 ("estimated_error_time", .double(worst?.time ?? .nan)), ("estimated_error_at_time", .double(worst?.at ?? .nan))]
        if let estimator {
            root += [("error_estimate_cells", .integers(estimator.coarseCells)), ("error_estimate_dt", .double(estimator.companionDt ?? .nan)),
                     ("error_estimate_seconds", .double(estimator.seconds))]
            if let modes = estimator.coarseModes { root.append(("error_estimate_modes", .integers(modes))) }
        }
        root += [("complete", .integer(complete ? 1 : 0)), ("frames", .integer(frames)),
                 ("warnings", .string(warnings.joined(separator: "\n")))]
        if let summary {
            root += [("scheme", .string(settings?.scheme.rawValue ?? "")), ("dt", .double(summary.dt)),
                     ("steps", .integer(summary.steps)), ("t_final", .double(summary.finalTime)),
                     ("mass_drift", .double(summary.massDrift)), ("krylov_iterations", .integer(summary.krylovIterations)), ("most_negative_density", .double(summary.mostNegativeDensity)),
                     ("wall_seconds", .double(summary.seconds))]
        }
        for (key, value) in root { try file.writeRootAttribute(key, value) }
    }

    /// Closes every dataset and the file; false when the close failed (the file is then corrupt).
    private func closeAll() -> Bool {
        for name in seriesOrder { file.closeDataset(series[name]!) }
        series = [:]
        seriesOrder = []
        scales.forEach(file.closeDataset)
        if let coefficientScale { file.closeDataset(coefficientScale) }
        coefficientScale = nil
        file.closeDataset(time)
        return (try? file.close()) != nil
    }

    /// A complete run: mark it so and move it (and its sidecar) onto the target. When a write or
    /// the close fails the temporary file is removed and the target is not touched.
    public func finish(_ summary: EvolutionSummary) throws {
        do {
            try writeRoot(summary, complete: summary.outcome == .completed)
        } catch {
            _ = closeAll()
            unlink(temporary)
            sidecar.discard()
            throw error
        }
        guard closeAll() else {
            unlink(temporary)
            sidecar.discard()
            throw FokkerPlanckError.io("closing \(temporary.printable) failed (is the disk full?); \(target.printable) was not touched")
        }
        let committed = try sidecar.commit(temporary, to: { target })
        if let failure = committed.sidecarFailure {
            throw FokkerPlanckError.io("\(target.printable) is written, but its ParaView sidecar is not: \(failure)")
        }
    }

    /// An interrupted or failed run: keep the frames done so far, valid, beside the target (in a
    /// new partial file: earlier ones are kept); the target is not touched. Returns where they are,
    /// or nil when nothing valid could be kept (no frame, or the file could not be completed).
    @discardableResult
    public func abandon(_ summary: EvolutionSummary?) -> String? {
        let marked = (try? writeRoot(summary, complete: false)) != nil
        let closed = closeAll()
        guard frames > 0, marked, closed else {
            unlink(temporary)
            sidecar.discard()
            return nil
        }
        // The frames are kept even when only their sidecar could not be.
        return (try? sidecar.commit(temporary, to: { OutputTarget.partialPath(for: target) }))?.path
    }

}
