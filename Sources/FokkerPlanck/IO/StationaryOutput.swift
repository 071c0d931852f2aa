import CHDF5
import Foundation

/// The HDF5 layout of SPEC §5, a valid netCDF-4 file with CF-1.8 metadata, readable by netCDF-C,
/// xarray (both engines) and h5py, with a ParaView sidecar beside it (`ParaViewSidecar`):
///
/// * `/<axis>` (n_axis,): cell-centre coordinates, each a dimension scale named after the axis,
///   with `units`, `long_name` and `axis` (X, Y, Z for the first three axes);
/// * `/density`, `/current_<axis>`, `/velocity_<axis>`, `/potential`: (n_0, …, n_{d−1}) in C order
///   with axis 0 first, each dimension attached to its coordinate scale;
/// * `/stationary_covariance` (d × d, dimensions `axis_row`, `axis_column`): the moments of the
///   computed density, also as the flat root attributes `stationary_mean`, `stationary_covariance`;
/// * root attributes: Conventions, title, problem, model_type, convention, fpsolve_version,
///   created, solver, residual, mass, and the grid and factorization diagnostics.
///
/// Text attributes are fixed-length strings (netCDF NC_CHAR), which VTK and the classic netCDF
/// formats read; every dimension scale gets its own netCDF dimension id.
public enum StationaryOutput {
    /// Writes to a checked target (`OutputTarget`: what may be replaced was decided before the work).
    public static func write(problem: Problem, solution: StationarySolution, wallSeconds: Double, warnings: [String] = [],
                             estimate: ErrorEstimate? = nil, to target: OutputTarget) throws {
        let path = target.path
        let grid = solution.grid
        let stats = solution.factorization
        let method: String
        var krylovAttributes: [(String, AttributeValue)] = []
        if let krylov = solution.krylov {
            method = "GMRES(\(problem.solver.krylov.restart)) on the generator with one cell pinned, preconditioned by the \(solution.preconditionerSummary ?? "separable inverse"), then normalised"
            krylovAttributes = [("iterations", .integer(krylov.iterations)), ("krylov_relative_residual", .double(krylov.relativeResidual))]
        } else {
            method = solution.discretization.normalisationRow != nil
                ? "UMFPACK sparse LU (ordering \(stats.ordering)) of the generator with its zero row (the test function 1) replaced by ∫ρ = 1"
                : "UMFPACK sparse LU (ordering \(stats.ordering)) of the generator with one cell pinned, then normalised"
        }
        let solver = solution.discretization.methodDescription + "; " + method
        // From the discretization: for finite volumes the midpoint rule on the cells, for a
        // spectral method exactly from the coefficients.
        let moments = solution.discretization.diagnostics(of: solution.state, density: solution.density)
        let root = commonAttributes(problem: problem, solver: solver, factorization: stats) + krylovAttributes + [
            ("residual", .double(solution.residual)),
            ("mass", .double(solution.mass)),
            ("min_density", .double(solution.minimumDensity)),
            ("wall_seconds", .double(wallSeconds)),
            ("stationary_mean", .doubles(moments.mean)),
            ("stationary_covariance", .doubles(moments.covariance)),
            ("warnings", .string(warnings.joined(separator: "\n"))),
            // NaN when no estimate could be made (grid too coarse to coarsen, coarse solve failed;
            // the warnings say which).
            ("estimated_error", .double(estimate?.density ?? .nan)),
            ("estimated_error_mean", .double(estimate?.mean ?? .nan)),
            ("estimated_error_covariance", .double(estimate?.covariance ?? .nan)),
            ("error_estimate_cells", .integers(estimate?.coarseCells ?? [])),
        ] + (estimate?.coarseModes.map { [("error_estimate_modes", AttributeValue.integers($0))] } ?? [])
        var matrices = [MatrixVariable(name: "stationary_covariance", rows: "axis_row", columns: "axis_column",
                                       matrix: Matrix(rows: grid.dimension, columns: grid.dimension, elements: moments.covariance),
                                       longName: "covariance of the computed stationary density (rows and columns in grid axis order)")]

        // The currents once, for the fields and for the diagnostics of sgd and general models.
        let diagnosed: Bool
        switch problem.model { case .sgd, .general, .powerLaw: diagnosed = true; default: diagnosed = false }
        let derived = diagnosed ? DerivedFields(state: solution.state, density: solution.density, discretization: solution.discretization,
                                                temperature: problem.model.temperature) : nil
        let datasets = fieldDatasets(state: solution.state, density: solution.density, discretization: solution.discretization, problem: problem,
                                     fields: derived)
        var extra: [SGDMomentumOutput.Dataset] = []
        var extraAttributes: [(String, AttributeValue)] = [("discretization", .string(problem.discretizationSettings.typeName))]
        // A spectral solve also stores what it solved for: the coefficients, their multi-indices
        // and the basis (`SpectralRecord`).
        let record = solution.discretization.spectralRecord
        if let record { extraAttributes += Self.spectralAttributes(record) }
        switch problem.model {
        case let .sgdMomentum(parameters, _), let .sgdMomentumStateDependent(parameters, _):
            let discretization = solution.discretization, state = solution.state
            extra = try SGDMomentumOutput.datasets(parameters: parameters, density: solution.density, grid: grid,
                                                   temperature: problem.model.temperature,
                                                   exact: { discretization.marginal(of: state, keeping: $0) })
            extraAttributes += try SGDMomentumOutput.attributes(parameters: parameters, density: solution.density, grid: grid)
            matrices += try SGDMomentumOutput.matrices(parameters: parameters)
            if parameters.modifiedEquation {
                // The iterates' own covariance, Cov θ_k = C_θ̄θ̄ + (η²/4) C_vv, from the density's.
                let c = HeavyBallMoments.iterateCovariance(Matrix(rows: grid.dimension, columns: grid.dimension, elements: moments.covariance),
                                                           p: parameters.parameterCount, eta: parameters.learningRate)
                matrices.append(MatrixVariable(name: "iterate_covariance", rows: "parameter_row", columns: "parameter_column", matrix: c,
                                               longName: "covariance of the iterates θ_k = θ̄ + (η/2) v, from the computed density (C_θ̄θ̄ + (η²/4) C_vv)"))
                extraAttributes.append(("iterate_covariance", .doubles(c.elements)))
            }
        default:
            break
        }
        switch problem.model {
        case let .sgd(parameters, _):
            extra = SGDOutput.datasets(parameters: parameters, fields: derived!, state: solution.state, discretization: solution.discretization)
            extraAttributes += [("learning_rate", .double(parameters.learningRate)), ("batch_size", .double(parameters.batchSize)),
                                ("inverse_beta", .double(parameters.inverseBeta))]
        case .general, .powerLaw:
            extra = SGDOutput.datasets(parameters: nil, fields: derived!, state: solution.state, discretization: solution.discretization)
        default:
            break
        }

        let sidecar = try SidecarWriter(grid: grid, target: path)
        do {
            let fullFields = datasets.map { ($0.name, $0.values) } + extra.filter { $0.shape == grid.shape }.map { ($0.name, $0.values) }
            try sidecar.add(fields: fullFields, time: nil)
        } catch {
            sidecar.discard()
            throw error
        }
        try AtomicOutput.write(to: path, sidecar: sidecar) { file in
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
                if let record {
                    let coefficient = try Self.writeSpectralIndices(record, file: file)
                    defer { file.closeDataset(coefficient) }
                    let id = try file.writeDataset("spectral_coefficients", shape: [record.indices.count], values: solution.discretization.recordedCoefficients(of: solution.state),
                                                   attributes: [("long_name", .string(record.expansion)), ("units", .string("1"))])
                    defer { file.closeDataset(id) }
                    try file.attachScale(coefficient, to: id, dimension: 0)
                }
                try writeMatrices(matrices, grid: grid, file: file)
                for (key, value) in root + extraAttributes { try file.writeRootAttribute(key, value) }
        }
    }

    /// About the bytes a stationary output takes: the HDF5 fields (density, d currents, d
    /// velocities, potential, and sgd-momentum's modified loss and marginals) and the sidecar's
    /// (density, potential, modified loss, two 3-vectors: 9 values a cell; 4-d: marginals, far
    /// fewer), plus attributes and metadata.
    public static func estimatedBytes(problem: Problem) -> Double {
        // sgd adds five fields (loss, Φ − f, ∇·j, ∇·J, j·∇Φ).
        let values = Double(2 * problem.grid.dimension + 4) + 9 + 5
        // Plus a spectral state's coefficients and their multi-indices.
        return values * 8 * Double(problem.grid.cellCount) + 8 * Double(problem.grid.dimension + 1) * problem.spectralCoefficientBound + 1_048_576
    }

    /// The root attributes of a spectral state: its basis and modes per axis, and the basis' own.
    static func spectralAttributes(_ record: SpectralRecord) -> [(String, AttributeValue)] {
        [("spectral_basis", .string(record.basis.joined(separator: ","))), ("spectral_modes", .integers(record.modes))] + record.attributes
    }

    /// `spectral_indices` (coefficient × axis) with its two index coordinates; returns the
    /// coefficient index scale, open, for the coefficients to attach (the caller closes it).
    static func writeSpectralIndices(_ record: SpectralRecord, file: HDF5File) throws -> hid_t {
        let count = record.indices.count, d = record.basis.count
        let coefficient = try file.writeDataset("spectral_coefficient", shape: [count], values: (0..<count).map(Double.init), attributes: [
            ("long_name", .string("index of a spectral coefficient (a row of spectral_indices)")), ("units", .string("1")),
        ])
        do {
            try file.makeDimensionScale(coefficient, name: "spectral_coefficient")
            let axis = try file.writeDataset("spectral_axis", shape: [d], values: (0..<d).map(Double.init), attributes: [
                ("long_name", .string("axis of a multi-index: " + record.basis.enumerated().map { "\($0) = \($1)" }.joined(separator: ", "))),
                ("units", .string("1")),
            ])
            defer { file.closeDataset(axis) }
            try file.makeDimensionScale(axis, name: "spectral_axis")
            let id = try file.writeDataset("spectral_indices", shape: [count, d], values: record.indices.flatMap { $0.map(Double.init) },
                                           attributes: [("long_name", .string("multi-index n of each coefficient (row), per axis (column)")), ("units", .string("1"))])
            defer { file.closeDataset(id) }
            try file.attachScale(coefficient, to: id, dimension: 0)
            try file.attachScale(axis, to: id, dimension: 1)
        } catch {
            file.closeDataset(coefficient)
            throw error
        }
        return coefficient
    }

    /// A d×d (or p×p) matrix stored with its shape: a 2-d variable on two index dimensions.
    struct MatrixVariable {
        let name: String
        let rows: String
        let columns: String
        let matrix: Matrix
        let longName: String
    }

    /// Writes the matrices, with an index coordinate (0, 1, …) for each dimension they use.
    static func writeMatrices(_ matrices: [MatrixVariable], grid: Grid, file: HDF5File) throws {
        var indexScales: [String: hid_t] = [:]
        defer { indexScales.values.forEach(file.closeDataset) }
        for variable in matrices {
            var dimensions: [hid_t] = []
            for (name, size) in [(variable.rows, variable.matrix.rows), (variable.columns, variable.matrix.columns)] {
                if let scale = indexScales[name] { dimensions.append(scale); continue }
                let labels = name.hasPrefix("axis") ? grid.axes.map(\.name) : (0..<size).map { "parameter \($0 + 1)" }
                let scale = try file.writeDataset(name, shape: [size], values: (0..<size).map(Double.init), attributes: [
                    ("long_name", .string("index of a matrix \(name.hasSuffix("row") ? "row" : "column"): " +
                                          labels.enumerated().map { "\($0) = \($1)" }.joined(separator: ", "))),
                    ("units", .string("1")),
                ])
                try file.makeDimensionScale(scale, name: name)
                indexScales[name] = scale
                dimensions.append(scale)
            }
            let id = try file.writeDataset(variable.name, shape: [variable.matrix.rows, variable.matrix.columns],
                                           values: variable.matrix.elements,
                                           attributes: [("long_name", .string(variable.longName)), ("units", .string("1"))])
            defer { file.closeDataset(id) }
            for (k, scale) in dimensions.enumerated() { try file.attachScale(scale, to: id, dimension: k) }
        }
    }

    /// The root attributes every output carries: what was solved, with what, and the grid.
    static func commonAttributes(problem: Problem, solver: String, factorization stats: FactorizationStatistics)
        -> [(String, AttributeValue)] {
        let grid = problem.grid
        var hyperParameters: [(String, AttributeValue)] = []
        let momentum: SGDMomentumParameters?
        switch problem.model {
        case let .sgdMomentum(sgd, _), let .sgdMomentumStateDependent(sgd, _): momentum = sgd
        default: momentum = nil
        }
        if let sgd = momentum {
            hyperParameters = [("noise", .string(sgd.stateDependentNoise ? "state-dependent" : "constant")),
                ("continuous_model", .string(sgd.modifiedEquation
                    ? "modified equation of the heavy ball on θ̄ = (θ_k + θ_{k−1})/2, v = (θ_k − θ_{k−1})/η (the axes theta are θ̄)"
                    : "Kunin et al.")),
                ("hessian", .doubles(sgd.hessian.elements)), ("learning_rate", .double(sgd.learningRate)),
                ("momentum", .double(sgd.momentum)), ("batch_size", .double(sgd.batchSize)),
                ("gradient_noise", .doubles(sgd.gradientNoise.elements)), ("weight_decay", .double(sgd.weightDecay)),
                ("minimum", .doubles(sgd.minimum)),
            ]
        }
        return hyperParameters + [
            ("_NCProperties", .string("version=2,fpsolve=\(fpsolveVersion),hdf5=\(hdf5Version)")),
            ("Conventions", .string("CF-1.8")),
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
    static func fieldDatasets(state: [Double], density: [Double], discretization: any Discretization, problem: Problem,
                              fields given: DerivedFields? = nil)
        -> [(name: String, values: [Double], attributes: [(String, AttributeValue)])] {
        let grid = discretization.grid
        var datasets: [(name: String, values: [Double], attributes: [(String, AttributeValue)])] = [
            ("density", density, [("long_name", .string("probability density ρ (Σ ρ · cell volume = 1)")), ("units", .string("1"))]),
        ]
        let wanted = Set(problem.output.fields)
        guard wanted.contains(.current) || wanted.contains(.velocity) || wanted.contains(.potential) else { return datasets }
        let fields = given ?? DerivedFields(state: state, density: density, discretization: discretization, temperature: problem.model.temperature)
        for (k, axis) in grid.axes.enumerated() where wanted.contains(.current) {
            datasets.append(("current_\(axis.name)", fields.current[k],
                             [("long_name", .string("probability current J_\(axis.name) (from the scheme's face fluxes)")), ("units", .string("1"))]))
        }
        for (k, axis) in grid.axes.enumerated() where wanted.contains(.velocity) {
            datasets.append(("velocity_\(axis.name)", fields.velocity[k],
                             [("long_name", .string("leftover field j_\(axis.name) = J_\(axis.name)/ρ (NaN where ρ ≤ 0)")), ("units", .string("1"))]))
        }
        if wanted.contains(.potential) {
            datasets.append(("potential", fields.potential,
                             [("long_name", .string("potential Φ = −T log ρ in the units of T = \(problem.model.temperature), min Φ = 0 (NaN where ρ ≤ 0)")),
                              ("units", .string("1"))]))
        }
        return datasets
    }

    /// Writes `/<axis>` for every axis as a dimension scale with its CF attributes (the model's
    /// axes carry no physical unit: "1"; CF knows only X, Y, Z as spatial `axis` values, so a 4th
    /// axis has none); returns their ids (caller closes).
    static func writeCoordinates(grid: Grid, file: HDF5File) throws -> [hid_t] {
        try grid.axes.enumerated().map { k, axis in
            var attributes: [(String, AttributeValue)] = [
                ("long_name", .string("\(axis.name) (cell centres)")),
                ("units", .string("1")),
                ("boundary", .string(axis.boundary.rawValue)),
            ]
            if k < 3 { attributes.append(("axis", .string(["X", "Y", "Z"][k]))) }
            let id = try file.writeDataset(axis.name, shape: [axis.cells], values: axis.centres, attributes: attributes)
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
