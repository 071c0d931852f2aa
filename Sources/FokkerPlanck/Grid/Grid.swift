import Foundation

/// What happens to probability at the two walls of an axis.
public enum BoundaryKind: String, Sendable, CaseIterable, Codable {
    /// Zero normal flux through the wall: mass is conserved.
    case reflecting
    /// The last cell neighbours the first: the axis is a circle of length `upper − lower`.
    case periodic
    /// ρ = 0 on the wall (Dirichlet): mass leaves through it, so no stationary state exists.
    case absorbing
    /// Specular reflection, for a position axis of a phase-space model (`langevin`,
    /// `sgd-momentum`): a particle reaching the wall comes back with its normal velocity reversed,
    /// ρ(x_w, v) = ρ(x_w, −v), so what flows out at velocity v flows in at −v. Mass is conserved,
    /// and a Boltzmann density that is even in v is left stationary. (A `reflecting` wall on a
    /// position axis instead stops the flux v ρ at every v, which forces ρ(x_w, v) = 0 for
    /// v ≠ 0 — a boundary layer, not a bounce.) Needs the paired velocity axis symmetric about 0.
    case specular
}

/// One axis of a uniform cell-centred grid: `cells` cells of width h = (upper − lower)/cells,
/// centres at lower + (i + ½) h, i = 0…cells−1.
public struct Axis: Sendable, Equatable {
    public let name: String
    public let lower: Double
    public let upper: Double
    public let cells: Int
    public let boundary: BoundaryKind

    public init(name: String, lower: Double, upper: Double, cells: Int, boundary: BoundaryKind) {
        precondition(upper > lower && cells >= 1)
        self.name = name
        self.lower = lower
        self.upper = upper
        self.cells = cells
        self.boundary = boundary
    }

    public var length: Double { upper - lower }
    public var spacing: Double { (upper - lower) / Double(cells) }
    public func centre(_ i: Int) -> Double { lower + (Double(i) + 0.5) * spacing }
    public var centres: [Double] { (0..<cells).map(centre) }
}

/// A uniform Cartesian cell-centred grid in d = 1…4 dimensions.
///
/// Data layout: a field is a flat `[Double]` of `cellCount` values in C order, axis 0 slowest, so
/// that the value at multi-index (i₀, …, i_{d−1}) sits at Σ_k i_k · stride_k with
/// stride_{d−1} = 1 — the layout of the HDF5 datasets as well.
public struct Grid: Sendable, Equatable {
    public let axes: [Axis]
    public let shape: [Int]
    public let strides: [Int]
    public let cellCount: Int

    public init(axes: [Axis]) {
        precondition(!axes.isEmpty)
        self.axes = axes
        self.shape = axes.map(\.cells)
        var strides = [Int](repeating: 1, count: axes.count)
        for k in stride(from: axes.count - 2, through: 0, by: -1) { strides[k] = strides[k + 1] * axes[k + 1].cells }
        self.strides = strides
        self.cellCount = axes.reduce(1) { $0 * $1.cells }
    }

    public var dimension: Int { axes.count }
    public var spacing: [Double] { axes.map(\.spacing) }
    /// Volume of one cell, Π h_k.
    public var cellVolume: Double { axes.reduce(1) { $0 * $1.spacing } }

    /// The same domain and boundaries with other cell counts.
    public func withCells(_ cells: [Int]) -> Grid {
        precondition(cells.count == dimension)
        return Grid(axes: zip(axes, cells).map { Axis(name: $0.name, lower: $0.lower, upper: $0.upper, cells: $1, boundary: $0.boundary) })
    }

    /// Multi-index of a flat cell index.
    @inline(__always)
    public func multiIndex(_ cell: Int, into index: inout [Int]) {
        var rest = cell
        for k in 0..<dimension {
            index[k] = rest / strides[k]
            rest -= index[k] * strides[k]
        }
    }

    /// Cell-centre coordinates of a flat cell index.
    @inline(__always)
    public func centre(_ cell: Int, into x: inout [Double]) {
        var rest = cell
        for k in 0..<dimension {
            let i = rest / strides[k]
            rest -= i * strides[k]
            x[k] = axes[k].centre(i)
        }
    }

    public func centre(_ cell: Int) -> [Double] {
        var x = [Double](repeating: 0, count: dimension)
        centre(cell, into: &x)
        return x
    }

    /// Evaluates a function at every cell centre, in grid order.
    public func sample(_ f: ([Double]) -> Double) -> [Double] {
        var x = [Double](repeating: 0, count: dimension)
        return (0..<cellCount).map { cell in
            centre(cell, into: &x)
            return f(x)
        }
    }

    /// Σ_c v_c · cell volume — the discrete integral of a cell-centred field.
    ///
    /// Summed with Neumaier's compensated summation, so the error stays a few ulps whatever the
    /// number of cells (a plain sum of 10⁶ terms can lose 1e-10 relative); mass checks to 1e-12
    /// depend on it.
    public func integrate(_ values: [Double]) -> Double {
        precondition(values.count == cellCount)
        var sum = CompensatedSum()
        for v in values { sum.add(v) }
        return sum.value * cellVolume
    }
}

extension Grid {
    /// Σ over the axes not in `keep` of values × their cell widths: on the kept axes (in the order
    /// given, C order), the marginal of a density, or the marginal current of a current component.
    public func marginal(of values: [Double], keeping keep: [Int]) -> [Double] {
        let shape = keep.map { self.shape[$0] }
        var result = [Double](repeating: 0, count: shape.reduce(1, *))
        let weight = (0..<dimension).filter { !keep.contains($0) }.reduce(1.0) { $0 * axes[$1].spacing }
        var index = [Int](repeating: 0, count: dimension)
        for c in 0..<cellCount {
            multiIndex(c, into: &index)
            var flat = 0
            for (position, axis) in keep.enumerated() { flat = flat * shape[position] + index[axis] }
            result[flat] += values[c] * weight
        }
        return result
    }
}

extension Grid {
    /// Where the scheme evaluates coefficients along one axis, and its walls: the cell centres, the
    /// walls, and the three Gauss–Legendre nodes of every segment between neighbouring centres and
    /// between a wall and its first centre.
    public func evaluationPoints(axis k: Int) -> [Double] {
        let axis = axes[k]
        let s = 0.5 * (3.0 / 5.0).squareRoot()
        var points = [axis.lower, axis.upper]
        let ends = [axis.lower] + axis.centres + [axis.upper]
        for (a, b) in zip(ends, ends.dropFirst()) {
            points.append(b)
            for t in [0.5 - s, 0.5, 0.5 + s] { points.append(a + t * (b - a)) }
        }
        return points
    }

    /// The first point of the tensor product of `evaluationPoints` on `axes` where one of the
    /// functions (of those axes' coordinates, in that order) is not finite, with the function's
    /// name and value; nil when all are finite everywhere.
    public func firstNonFinite(of functions: [(evaluate: ([Double]) -> Double, name: String)],
                               onAxes axisList: [Int]) -> (point: [Double], name: String, value: Double)? {
        let lattices = axisList.map { evaluationPoints(axis: $0) }
        var index = [Int](repeating: 0, count: lattices.count)
        var point = [Double](repeating: 0, count: lattices.count)
        let total = lattices.reduce(1) { $0 * $1.count }
        for _ in 0..<total {
            for (k, lattice) in lattices.enumerated() { point[k] = lattice[index[k]] }
            for function in functions {
                let value = function.evaluate(point)
                if !value.isFinite { return (point, function.name, value) }
            }
            for k in stride(from: lattices.count - 1, through: 0, by: -1) {
                index[k] += 1
                if index[k] < lattices[k].count { break }
                index[k] = 0
            }
        }
        return nil
    }
}
