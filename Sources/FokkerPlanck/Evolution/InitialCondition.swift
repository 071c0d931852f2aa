import Foundation

extension EvolveSettings.InitialCondition {
    /// The initial density on a grid, normalised so that Σ ρ V = 1 — except a `file` one, whose
    /// mass is kept: continuing a run whose mass left through absorbing walls must not restore it.
    ///
    /// * `gaussian`: N(mean, covariance) sampled at the cell centres; on periodic axes wrapped
    ///   (summed over the images shifted by nL, |n| ≤ N with (N − 1)L ≥ √74 σ, so that the images
    ///   left out weigh below e^{−37} ≈ 1e-16 — ±L alone missed 7e-4 of a σ = 2 start on a 2π ring
    ///   (review); at most 20 images each way, enough up to σ ≈ 2.2 L);
    /// * `uniform`: constant;
    /// * `delta`: a narrow Gaussian at the point, resolved on the grid (σ_k = 2 h_k on each axis),
    ///   wrapped likewise;
    /// * `file`: the density of an earlier output on the same grid (its last frame for an
    ///   `evolve` output); `startTime` is then the time of that frame.
    public func density(on grid: Grid) throws -> (density: [Double], startTime: Double) {
        var values: [Double]
        var startTime = 0.0
        var normalise = true
        switch self {
        case let .gaussian(mean, covariance):
            let precision = try covariance.inverse()
            let widths = (0..<grid.dimension).map { covariance[$0, $0].squareRoot() }
            values = Self.wrappedSample(on: grid, widths: widths) { x in exp(-0.5 * precision.quadraticForm(zip(x, mean).map { $0 - $1 })) }
        case .uniform:
            values = [Double](repeating: 1, count: grid.cellCount)
        case let .delta(point):
            let widths = grid.spacing.map { 2 * $0 }
            values = Self.wrappedSample(on: grid, widths: widths) { x in
                exp(-0.5 * (0..<x.count).reduce(0) { $0 + pow((x[$1] - point[$1]) / widths[$1], 2) })
            }
        case let .file(path):
            (values, startTime) = try Self.read(path: path, grid: grid)
            normalise = false
        }
        let mass = grid.integrate(values)
        guard values.allSatisfy(\.isFinite) else {
            throw FokkerPlanckError.badInput(file: nil, keyPath: "evolve.initial", line: nil,
                                             message: "the initial density has non-finite values")
        }
        guard mass > 0, mass.isFinite else {
            throw FokkerPlanckError.badInput(file: nil, keyPath: "evolve.initial", line: nil,
                                             message: "the initial density has no mass on the grid (is its centre inside the box?)")
        }
        return (normalise ? values.map { $0 / mass } : values, startTime)
    }

    /// The shifts nL (|n| ≤ N_k per periodic axis k, N_k from the Gaussian's width σ_k along it:
    /// (N_k − 1)L_k ≥ √74 σ_k, at least 1, at most 20) over which a Gaussian is wrapped.
    static func imageShifts(lengths: [Double], periodic: [Bool], widths: [Double]) -> [[Double]] {
        let d = lengths.count
        let reach = (0..<d).map { k -> Int in
            guard periodic[k] else { return 0 }
            let needed = (74.0.squareRoot() * widths[k] / lengths[k]).rounded(.up) + 1
            return needed.isFinite ? min(max(Int(needed), 1), 20) : 20
        }
        var shifts: [[Double]] = [[Double](repeating: 0, count: d)]
        for k in 0..<d where reach[k] > 0 {
            shifts = shifts.flatMap { shift in (-reach[k]...reach[k]).map { n in
                var s = shift; s[k] = Double(n) * lengths[k]; return s
            } }
        }
        return shifts
    }

    /// f at the cell centres, summed over the images x + n L along periodic axes (`imageShifts`).
    static func wrappedSample(on grid: Grid, widths: [Double], _ f: ([Double]) -> Double) -> [Double] {
        let periodic = grid.axes.map { $0.boundary == .periodic }
        guard periodic.contains(true) else { return grid.sample(f) }
        let images = imageShifts(lengths: grid.axes.map(\.length), periodic: periodic, widths: widths)
        var shifted = [Double](repeating: 0, count: grid.dimension)
        return grid.sample { x in
            images.reduce(0) { sum, shift in
                for k in 0..<x.count { shifted[k] = x[k] + shift[k] }
                return sum + f(shifted)
            }
        }
    }

    /// The last density of an earlier output on the same grid. Every shape is checked from the
    /// file's headers before any data is read: a small file may declare an enormous dataset.
    static func read(path: String, grid: Grid) throws -> ([Double], Double) {
        func refuse(_ message: String) -> FokkerPlanckError {
            .badInput(file: path.printable, keyPath: "evolve.initial.path", line: nil, message: message)
        }
        let file: HDF5File
        do { file = try HDF5File.open(path) } catch { throw refuse("cannot read the initial density: \(error)") }
        defer { try? file.close() }
        guard file.isDataset("density") else { throw refuse("the file has no /density") }
        for axis in grid.axes {
            guard file.isDataset(axis.name), (try? file.shape(ofDataset: axis.name)) == [axis.cells],
                  let coordinates = try? file.readDoubles(axis.name, maxElements: axis.cells).values,
                  zip(coordinates, axis.centres).allSatisfy({ abs($0 - $1) <= 1e-9 * max(1, abs($1)) }) else {
                throw refuse("its coordinate '\(axis.name)' does not match the grid (same box and cells needed)")
            }
        }
        let shape = try file.shape(ofDataset: "density")
        let frameSize = grid.cellCount
        if shape == grid.shape {
            return (try file.readDoubles("density", maxElements: frameSize).values, 0)
        }
        guard shape.count == grid.dimension + 1, Array(shape.dropFirst()) == grid.shape, shape[0] >= 1 else {
            throw refuse("its density has shape \(shape), the grid is \(grid.shape)")
        }
        let frames = shape[0]
        guard file.isDataset("time"), (try? file.shape(ofDataset: "time")) == [frames] else {
            throw refuse("its density has \(frames) frames but no matching /time")
        }
        // The last frame and its time only: the file may declare far more frames than it holds.
        let last = try file.readSlice("density", index: frames - 1)
        let startTime = try file.readSlice("time", index: frames - 1)[0]
        guard startTime.isFinite else { throw refuse("its last time is \(startTime)") }
        return (last, startTime)
    }
}
