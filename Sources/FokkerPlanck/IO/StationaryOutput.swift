import CHDF5
import Foundation

/// The HDF5 layout of SPEC §5, readable as netCDF-4 (xarray) and directly by h5py:
///
/// * `/<axis>` (n_axis,): cell-centre coordinates, each a dimension scale named after the axis;
/// * `/density`, `/current_<axis>`, `/velocity_<axis>`, `/potential`: (n_0, …, n_{d−1}) in C order
///   with axis 0 first, each dimension attached to its coordinate scale;
/// * root attributes: title, problem, model_type, convention, fpsolve_version, created, solver,
///   residual, mass, and the grid and factorization diagnostics.
public enum StationaryOutput {
    public static func write(problem: Problem, solution: StationarySolution, wallSeconds: Double, to path: String) throws {
        let grid = solution.grid
        let stats = solution.factorization
        let flux = solution.scheme.driftFlux.description
        let method: String
        var krylovAttributes: [(String, AttributeValue)] = []
        if let krylov = solution.krylov {
            method = "GMRES(\(problem.solver.krylov.restart)) on the generator with one cell pinned, preconditioned by the \(solution.preconditionerSummary ?? "separable inverse"), then normalised"
            krylovAttributes = [("iterations", .integer(krylov.iterations)), ("krylov_relative_residual", .double(krylov.relativeResidual))]
        } else {
            method = "UMFPACK sparse LU (ordering \(stats.ordering)) of the generator with one cell pinned, then normalised"
        }
        let solver = "finite volumes (\(flux) drift fluxes, centred cross-diffusion); " + method
        let root = commonAttributes(problem: problem, solver: solver, factorization: stats) + krylovAttributes + [
            ("residual", .double(solution.residual)),
            ("mass", .double(solution.mass)),
            ("min_density", .double(solution.minimumDensity)),
            ("wall_seconds", .double(wallSeconds)),
        ]

        let datasets = fieldDatasets(density: solution.density, scheme: solution.scheme, problem: problem)
        var extra: [SGDMomentumOutput.Dataset] = []
        var extraAttributes: [(String, AttributeValue)] = []
        if case let .sgdMomentum(parameters, _) = problem.model {
            extra = try SGDMomentumOutput.datasets(parameters: parameters, density: solution.density, grid: grid,
                                                   temperature: problem.model.temperature)
            extraAttributes = try SGDMomentumOutput.attributes(parameters: parameters, density: solution.density, grid: grid)
        }

        try AtomicOutput.write(to: path) { file in
            let scales = try writeCoordinates(grid: grid, file: file)
            defer { scales.forEach(file.closeDataset) }
            for dataset in datasets {
                let id = try file.writeDataset(dataset.name, shape: grid.shape, values: dataset.values, attributes: dataset.attributes)
                defer { file.closeDataset(id) }
                for (k, scale) in scales.enumerated() { try file.attachScale(scale, to: id, dimension: k) }
            }
            for dataset in extra {
                let id = try file.writeDataset(dataset.name, shape: dataset.shape, values: dataset.values, attributes: dataset.attributes)
                defer { file.closeDataset(id) }
                for (k, axis) in dataset.axes.enumerated() { try file.attachScale(scales[axis], to: id, dimension: k) }
            }
            for (key, value) in root + extraAttributes { try file.writeRootAttribute(key, value) }
        }
    }

    /// The root attributes every output carries: what was solved, with what, and the grid.
    static func commonAttributes(problem: Problem, solver: String, factorization stats: FactorizationStatistics)
        -> [(String, AttributeValue)] {
        let grid = problem.grid
        var hyperParameters: [(String, AttributeValue)] = []
        if case let .sgdMomentum(sgd, _) = problem.model {
            hyperParameters = [
                ("hessian", .doubles(sgd.hessian.elements)), ("learning_rate", .double(sgd.learningRate)),
                ("momentum", .double(sgd.momentum)), ("batch_size", .double(sgd.batchSize)),
                ("gradient_noise", .doubles(sgd.gradientNoise.elements)), ("weight_decay", .double(sgd.weightDecay)),
                ("minimum", .doubles(sgd.minimum)),
            ]
        }
        return hyperParameters + [
            ("_NCProperties", .string("version=2,fpsolve=\(fpsolveVersion),hdf5=\(hdf5Version)")),
            ("title", .string(problem.title)),
            ("problem", .string(problem.text)),
            ("model_type", .string(problem.model.typeName)),
            ("convention", .string(problem.model.convention)),
            ("fpsolve_version", .string(fpsolveVersion)),
            ("created", .string(ISO8601DateFormatter().string(from: Date()))),
            ("solver", .string(solver)),
            ("temperature", .double(problem.model.temperature)),
            ("cells", .integers(grid.shape)),
            ("lower", .doubles(grid.axes.map(\.lower))),
            ("upper", .doubles(grid.axes.map(\.upper))),
            ("boundary", .string(grid.axes.map(\.boundary.rawValue).joined(separator: ","))),
            ("factor_nonzeros", .integer(stats.lowerNonzeros + stats.upperNonzeros)),
            ("factor_fill_ratio", .double(stats.fillRatio)),
            ("factor_peak_memory_bytes", .double(stats.peakMemoryBytes)),
            ("factor_seconds", .double(stats.symbolicSeconds + stats.numericSeconds)),
        ]
    }

    /// The per-field datasets (name, values, attributes) of a density, as `[output].fields` asks.
    static func fieldDatasets(density: [Double], scheme: FiniteVolumeScheme, problem: Problem)
        -> [(name: String, values: [Double], attributes: [(String, AttributeValue)])] {
        let grid = scheme.grid
        var datasets: [(name: String, values: [Double], attributes: [(String, AttributeValue)])] = [
            ("density", density, [("long_name", .string("probability density ρ (Σ ρ · cell volume = 1)"))]),
        ]
        let wanted = Set(problem.output.fields)
        guard wanted.contains(.current) || wanted.contains(.velocity) || wanted.contains(.potential) else { return datasets }
        let fields = DerivedFields(density: density, scheme: scheme, temperature: problem.model.temperature)
        for (k, axis) in grid.axes.enumerated() where wanted.contains(.current) {
            datasets.append(("current_\(axis.name)", fields.current[k],
                             [("long_name", .string("probability current J_\(axis.name) (from the scheme's face fluxes)"))]))
        }
        for (k, axis) in grid.axes.enumerated() where wanted.contains(.velocity) {
            datasets.append(("velocity_\(axis.name)", fields.velocity[k],
                             [("long_name", .string("leftover field j_\(axis.name) = J_\(axis.name)/ρ (NaN where ρ ≤ 0)"))]))
        }
        if wanted.contains(.potential) {
            datasets.append(("potential", fields.potential,
                             [("long_name", .string("potential Φ = −T log ρ, min Φ = 0 (NaN where ρ ≤ 0)")),
                              ("units", .string("temperature units (T = \(problem.model.temperature))"))]))
        }
        return datasets
    }

    /// Writes `/<axis>` for every axis as a dimension scale; returns their ids (caller closes).
    static func writeCoordinates(grid: Grid, file: HDF5File) throws -> [hid_t] {
        try grid.axes.enumerated().map { k, axis in
            let id = try file.writeDataset(axis.name, shape: [axis.cells], values: axis.centres, attributes: [
                ("long_name", .string("\(axis.name) (cell centres)")),
                ("boundary", .string(axis.boundary.rawValue)),
                ("_Netcdf4Dimid", .integer(k)),
            ])
            try file.makeDimensionScale(id, name: axis.name)
            return id
        }
    }

    static var hdf5Version: String {
        var major: UInt32 = 0, minor: UInt32 = 0, release: UInt32 = 0
        H5get_libversion(&major, &minor, &release)
        return "\(major).\(minor).\(release)"
    }
}
