import Foundation

extension EvolveSettings.InitialCondition {
    /// The initial density on a grid, normalised so that Σ ρ V = 1.
    ///
    /// * `gaussian`: N(mean, covariance) sampled at the cell centres;
    /// * `uniform`: constant;
    /// * `delta`: a narrow Gaussian at the point, resolved on the grid (σ_k = 2 h_k on each axis);
    /// * `file`: the density of an earlier output on the same grid (its last frame for an
    ///   `evolve` output); `startTime` is then the time of that frame.
    public func density(on grid: Grid) throws -> (density: [Double], startTime: Double) {
        var values: [Double]
        var startTime = 0.0
        switch self {
        case let .gaussian(mean, covariance):
            let precision = try covariance.inverse()
            values = grid.sample { x in exp(-0.5 * precision.quadraticForm(zip(x, mean).map { $0 - $1 })) }
        case .uniform:
            values = [Double](repeating: 1, count: grid.cellCount)
        case let .delta(point):
            let widths = grid.spacing.map { 2 * $0 }
            values = grid.sample { x in
                exp(-0.5 * (0..<x.count).reduce(0) { $0 + pow((x[$1] - point[$1]) / widths[$1], 2) })
            }
        case let .file(path):
            (values, startTime) = try Self.read(path: path, grid: grid)
        }
        let mass = grid.integrate(values)
        guard mass > 0, mass.isFinite else {
            throw FokkerPlanckError.badInput(file: nil, keyPath: "evolve.initial", line: nil,
                                             message: "the initial density has no mass on the grid (is its centre inside the box?)")
        }
        return (values.map { $0 / mass }, startTime)
    }

    static func read(path: String, grid: Grid) throws -> ([Double], Double) {
        func refuse(_ message: String) -> FokkerPlanckError {
            .badInput(file: path, keyPath: "evolve.initial.path", line: nil, message: message)
        }
        let summary: OutputSummary
        do { summary = try OutputSummary(contentsOf: path) } catch { throw refuse("cannot read the initial density: \(error)") }
        guard let dataset = summary.datasets.first(where: { $0.name == "density" }) else { throw refuse("the file has no /density") }
        let (shape, values) = try OutputSummary.read("density", from: path)
        var startTime = 0.0
        var last = values
        if shape.count == grid.dimension + 1, Array(shape.dropFirst()) == grid.shape {
            let frameSize = grid.cellCount
            let frames = shape[0]
            last = Array(values[((frames - 1) * frameSize)..<(frames * frameSize)])
            if summary.datasets.contains(where: { $0.name == "time" }) {
                startTime = try OutputSummary.read("time", from: path).values.last ?? 0
            }
        } else if shape != grid.shape {
            throw refuse("its density has shape \(dataset.shape), the grid is \(grid.shape)")
        }
        for axis in grid.axes {
            guard let coordinates = try? OutputSummary.read(axis.name, from: path).values,
                  coordinates.count == axis.cells,
                  zip(coordinates, axis.centres).allSatisfy({ abs($0 - $1) <= 1e-9 * max(1, abs($1)) }) else {
                throw refuse("its coordinate '\(axis.name)' does not match the grid (same box and cells needed)")
            }
        }
        return (last, startTime)
    }
}
