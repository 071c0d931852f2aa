import Foundation

/// The assembled generator L of the discrete Fokker–Planck equation dρ/dt = L ρ, a CSC matrix on
/// the cell-centred values in grid order. Built once from (grid, model, boundaries), then only
/// applied or factored. Columns sum to zero (mass conservation) unless a wall is absorbing.
public struct FokkerPlanckOperator: Sendable {
    public let scheme: FiniteVolumeScheme
    public let matrix: SparseMatrix
    public var grid: Grid { scheme.grid }
}

extension FiniteVolumeScheme {
    // MARK: Assembly

    /// Assembles L row by row: row c collects +F/h_k from the face before c and −F/h_k from the face
    /// after it, along every axis.
    public func assemble() -> SparseMatrix {
        let n = grid.cellCount, d = grid.dimension
        let perRow = 1 + 2 * d + 4 * d * (d - 1) * (d > 1 ? 1 : 0)
        var builder = SparseRowBuilder(rows: n, columns: n, estimatedNonzeros: n * perRow)
        var scratch = FaceScratch(dimension: d)
        var stencil = FaceStencil()
        var index = [Int](repeating: 0, count: d)
        for c in 0..<n {
            grid.multiIndex(c, into: &index)
            for k in 0..<d {
                let base = c - index[k] * grid.strides[k]
                let invH = 1 / grid.axes[k].spacing
                faceStencil(axis: k, base: base, transverse: index, face: index[k], scratch: &scratch, into: &stencil)
                for m in 0..<stencil.cells.count { builder.add(column: stencil.cells[m], stencil.coefficients[m] * invH) }
                faceStencil(axis: k, base: base, transverse: index, face: index[k] + 1, scratch: &scratch, into: &stencil)
                for m in 0..<stencil.cells.count { builder.add(column: stencil.cells[m], -stencil.coefficients[m] * invH) }
            }
            builder.endRow()
        }
        return builder.build()
    }

    /// The generator L, assembled.
    public func makeOperator() -> FokkerPlanckOperator {
        FokkerPlanckOperator(scheme: self, matrix: assemble())
    }

    // MARK: Fluxes

    /// The scheme's own face fluxes of a density, one array per axis.
    ///
    /// Layout: for axis k, the faces form a grid of shape (n_0, …, n_k + 1, …, n_{d−1}) in C order;
    /// face f along k lies between cells f − 1 and f (face 0 and n_k are the walls; for a periodic
    /// axis both hold the same flux).
    public func faceFluxes(_ density: [Double]) -> [[Double]] {
        precondition(density.count == grid.cellCount)
        let d = grid.dimension
        var scratch = FaceScratch(dimension: d)
        var stencil = FaceStencil()
        var index = [Int](repeating: 0, count: d)
        return density.withUnsafeBufferPointer { rho in
            (0..<d).map { k in
                let n = grid.shape[k]
                var fluxes = [Double](repeating: 0, count: faceCount(axis: k))
                // Walk the rows of cells along k: one per cell with i_k = 0.
                for base in 0..<grid.cellCount {
                    grid.multiIndex(base, into: &index)
                    if index[k] != 0 { continue }
                    // Face index: same multi-index with n_k + 1 positions along k.
                    let faceBase = faceIndex(axis: k, cellIndex: index, face: 0)
                    let faceStride = grid.strides[k] // strides of the face grid along k equal the cell ones
                    for f in 0...n {
                        faceStencil(axis: k, base: base, transverse: index, face: f, scratch: &scratch, into: &stencil)
                        fluxes[faceBase + f * faceStride] = stencil.apply(rho)
                    }
                }
                return fluxes
            }
        }
    }

    /// Flat index in the face grid of axis k of the face `face` in the row of `cellIndex`.
    func faceIndex(axis k: Int, cellIndex: [Int], face: Int) -> Int {
        var idx = 0
        for j in 0..<grid.dimension {
            let extent = j == k ? grid.shape[j] + 1 : grid.shape[j]
            idx = idx * extent + (j == k ? face : cellIndex[j])
        }
        return idx
    }

    /// J at cell centres, one array per axis: the mean of the fluxes through the two faces of each
    /// cell along that axis (second order; exactly the scheme's fluxes, so no separate gradient).
    public func cellCurrents(_ density: [Double]) -> [[Double]] {
        let fluxes = faceFluxes(density)
        let d = grid.dimension
        var index = [Int](repeating: 0, count: d)
        return (0..<d).map { k in
            var current = [Double](repeating: 0, count: grid.cellCount)
            for c in 0..<grid.cellCount {
                grid.multiIndex(c, into: &index)
                let lower = faceIndex(axis: k, cellIndex: index, face: index[k])
                current[c] = 0.5 * (fluxes[k][lower] + fluxes[k][lower + grid.strides[k]])
            }
            return current
        }
    }

    /// The discrete divergence of the face fluxes, Σ_k (F_{k,c+½} − F_{k,c−½}) / h_k (= −L ρ), and
    /// the scale it is to be compared with: max_c Σ_k (|F_{k,c+½}| + |F_{k,c−½}|) / h_k.
    public func fluxDivergence(_ density: [Double]) -> (divergence: [Double], scale: Double) {
        let fluxes = faceFluxes(density)
        let d = grid.dimension
        var index = [Int](repeating: 0, count: d)
        var divergence = [Double](repeating: 0, count: grid.cellCount)
        var scale = 0.0
        for c in 0..<grid.cellCount {
            grid.multiIndex(c, into: &index)
            var magnitude = 0.0
            for k in 0..<d {
                let lower = faceIndex(axis: k, cellIndex: index, face: index[k])
                let fLow = fluxes[k][lower], fHigh = fluxes[k][lower + grid.strides[k]]
                let h = grid.axes[k].spacing
                divergence[c] += (fHigh - fLow) / h
                magnitude += (abs(fHigh) + abs(fLow)) / h
            }
            scale = max(scale, magnitude)
        }
        return (divergence, scale)
    }
}
