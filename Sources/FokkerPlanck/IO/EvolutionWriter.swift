import CHDF5
import Foundation

/// Writes an evolution frame by frame (an `EvolutionObserver`), in the layout of SPEC §5:
/// `/time` (frames) as a dimension scale, `/<axis>` coordinates, and `/density` (and the requested
/// `/current_<axis>`, `/velocity_<axis>`, `/potential`) of shape (frames, n_0, …), chunked one frame
/// at a time and compressed; per-frame diagnostics `/mass`, `/min_density`, `/mean_<axis>` and
/// `/covariance_<a>_<b>` (a ≤ b) along `time`.
///
/// Nothing is lost: frames go to a temporary file beside the target, flushed after every frame.
/// `finish` marks it `complete = 1` and renames it onto the target; `abandon` (an interrupted or
/// failed run) marks it `complete = 0` and renames it to `<target>.partial.h5`, leaving the target
/// untouched.
public final class EvolutionWriter: EvolutionObserver {
    public let target: String
    let temporary: String
    let problem: Problem
    let scheme: FiniteVolumeScheme
    let file: HDF5File
    let time: hid_t
    let scales: [hid_t]
    var series: [String: hid_t] = [:]
    var seriesOrder: [String] = []
    var frames = 0

    public init(problem: Problem, scheme: FiniteVolumeScheme, target: String) throws {
        self.problem = problem
        self.scheme = scheme
        self.target = target
        let url = URL(fileURLWithPath: target)
        temporary = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).tmp-\(ProcessInfo.processInfo.processIdentifier)").path
        file = try HDF5File.create(temporary)
        do {
            time = try file.createFrameSeries("time", frameShape: [], attributes: [
                ("long_name", .string("time")), ("_Netcdf4Dimid", .integer(0)),
            ])
            try file.makeDimensionScale(time, name: "time")
            scales = try StationaryOutput.writeCoordinates(grid: scheme.grid, file: file)
        } catch {
            try? file.close()
            unlink(temporary)
            throw error
        }
    }

    deinit {
        // Only reached without finish/abandon after an error: leave nothing behind.
        if file.id >= 0 {
            closeAll()
            unlink(temporary)
        }
    }

    private func frameSeries(_ name: String, spatial: Bool, attributes: [(String, AttributeValue)]) throws -> hid_t {
        if let id = series[name] { return id }
        let grid = scheme.grid
        let id = try file.createFrameSeries(name, frameShape: spatial ? grid.shape : [], attributes: attributes)
        try file.attachScale(time, to: id, dimension: 0)
        if spatial { for (k, scale) in scales.enumerated() { try file.attachScale(scale, to: id, dimension: k + 1) } }
        series[name] = id
        seriesOrder.append(name)
        return id
    }

    public func observe(frame: Int, time t: Double, density: [Double], diagnostics: FrameDiagnostics) throws {
        let grid = scheme.grid
        try file.appendFrame(time, index: frame, frameShape: [], values: [t])
        for dataset in StationaryOutput.fieldDatasets(density: density, scheme: scheme, problem: problem) {
            let id = try frameSeries(dataset.name, spatial: true, attributes: dataset.attributes)
            try file.appendFrame(id, index: frame, frameShape: grid.shape, values: dataset.values)
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
        for (name, value, description) in scalars {
            let id = try frameSeries(name, spatial: false, attributes: [("long_name", .string(description))])
            try file.appendFrame(id, index: frame, frameShape: [], values: [value])
        }
        frames = frame + 1
        file.flush()
    }

    private func writeRoot(_ summary: EvolutionSummary?, complete: Bool) throws {
        let stats = summary?.factorization ?? FactorizationStatistics()
        let settings = problem.evolve
        let linear = problem.solver.method == .iterative
            ? "GMRES on I − cΔt L preconditioned by the exact inverse of its separable part"
            : "one UMFPACK LU of I − cΔt L"
        let solver = "finite volumes (\(scheme.driftFlux.description) drift fluxes, centred cross-diffusion); \(settings?.scheme.rawValue ?? "") steps with " + linear
        var root = StationaryOutput.commonAttributes(problem: problem, solver: solver, factorization: stats)
        root += [("complete", .integer(complete ? 1 : 0)), ("frames", .integer(frames))]
        if let summary {
            root += [("scheme", .string(settings?.scheme.rawValue ?? "")), ("dt", .double(summary.dt)),
                     ("steps", .integer(summary.steps)), ("t_final", .double(summary.finalTime)),
                     ("mass_drift", .double(summary.massDrift)), ("krylov_iterations", .integer(summary.krylovIterations)), ("most_negative_density", .double(summary.mostNegativeDensity)),
                     ("wall_seconds", .double(summary.seconds))]
        }
        for (key, value) in root { try file.writeRootAttribute(key, value) }
    }

    private func closeAll() {
        for name in seriesOrder { file.closeDataset(series[name]!) }
        series = [:]
        seriesOrder = []
        scales.forEach(file.closeDataset)
        file.closeDataset(time)
        try? file.close()
    }

    /// A complete run: mark it so and move it onto the target.
    public func finish(_ summary: EvolutionSummary) throws {
        try writeRoot(summary, complete: summary.outcome == .completed)
        closeAll()
        guard rename(temporary, target) == 0 else {
            unlink(temporary)
            throw FokkerPlanckError.io("cannot move the finished output into place at \(target): \(String(cString: strerror(errno)))")
        }
    }

    /// An interrupted or failed run: keep the frames done so far, valid, beside the target; the
    /// target is not touched. Returns where they are.
    @discardableResult
    public func abandon(_ summary: EvolutionSummary?) -> String? {
        let partial = Self.partialPath(for: target)
        try? writeRoot(summary, complete: false)
        closeAll()
        guard frames > 0, rename(temporary, partial) == 0 else {
            unlink(temporary)
            return nil
        }
        return partial
    }

    /// `out.h5` → `out.partial.h5`.
    public static func partialPath(for target: String) -> String {
        let url = URL(fileURLWithPath: target)
        let stem = url.deletingPathExtension().lastPathComponent
        return url.deletingLastPathComponent().appendingPathComponent(stem + ".partial.h5").path
    }
}
