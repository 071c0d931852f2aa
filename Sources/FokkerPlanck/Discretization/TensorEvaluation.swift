import Foundation

/// Σ_n c_n Π_k φ^(k)_{n_k} at every cell centre of a grid, one axis at a time (sum
/// factorization): for each cell index along axis 0 the coefficient tensor is contracted with
/// the axis' basis values, then the result along axis 1, and so on. The cost is
/// Σ_k (n_0 ⋯ n_k)(P_{k+1} ⋯ P_{d−1}) P_k instead of (cells × coefficients): for 20⁴ cells and
/// 18⁴ coefficients, 1e7 against 1.7e10.
///
/// Axis k's basis may depend on the coordinates before it (a lower-triangular change of
/// variables such as the Cholesky factor of the Hermite basis): `basis(k, z_k, local, &values)`
/// gets the local coordinates of axes 0…k−1 already computed, fills values[0..<P_k] and returns
/// its own local coordinate.
final class TensorEvaluation {
    typealias Basis = (_ axis: Int, _ coordinate: Double, _ local: [Double], _ values: inout [Double]) -> Double

    let grid: Grid
    let sizes: [Int]
    let basis: Basis
    /// The partial contractions, level k of length P_k ⋯ P_{d−1} (level 0 the coefficients),
    /// and each axis' basis values: raw storage, so that one level is written while another is read.
    private let buffers: [UnsafeMutableBufferPointer<Double>]
    private var tables: [[Double]]
    private var local: [Double]
    private var output: [Double] = []

    init(grid: Grid, sizes: [Int], basis: @escaping Basis) {
        precondition(sizes.count == grid.dimension && sizes.allSatisfy { $0 >= 1 })
        self.grid = grid
        self.sizes = sizes
        self.basis = basis
        let d = grid.dimension
        buffers = (0..<d).map { k in
            let buffer = UnsafeMutableBufferPointer<Double>.allocate(capacity: sizes[k...].reduce(1, *))
            buffer.initialize(repeating: 0)
            return buffer
        }
        tables = sizes.map { [Double](repeating: 0, count: $0) }
        local = [Double](repeating: 0, count: d)
    }

    deinit { buffers.forEach { $0.deallocate() } }

    /// `coefficients` is dense, of shape `sizes`, row-major (axis 0 slowest).
    func evaluate(_ coefficients: [Double]) -> [Double] {
        precondition(coefficients.count == buffers[0].count)
        _ = buffers[0].update(fromContentsOf: coefficients)
        output = [Double](repeating: 0, count: grid.cellCount)
        contract(level: 0, offset: 0)
        return output
    }

    private func contract(level k: Int, offset: Int) {
        let d = grid.dimension
        let axis = grid.axes[k]
        let size = sizes[k]
        let current = buffers[k]
        let inner = current.count / size
        for i in 0..<axis.cells {
            local[k] = basis(k, axis.centre(i), local, &tables[k])
            let table = tables[k]
            if k == d - 1 {
                var sum = 0.0
                for m in 0..<size { sum += current[m] * table[m] }
                output[offset + i] = sum
            } else {
                let next = buffers[k + 1]
                for r in 0..<inner { next[r] = 0 }
                for m in 0..<size {
                    let t = table[m]
                    if t == 0 { continue }
                    let base = m * inner
                    for r in 0..<inner { next[r] += t * current[base + r] }
                }
                contract(level: k + 1, offset: offset + i * grid.strides[k])
            }
        }
    }
}
