import Foundation

/// A real sparse matrix in **compressed sparse column (CSC)** form — the one storage format of this
/// library, and the one UMFPACK and CHOLMOD take.
///
/// Column j holds the entries `values[columnStarts[j] ..< columnStarts[j+1]]` in rows
/// `rowIndices[…]`, sorted ascending within each column, without duplicates. Indices are `Int`
/// (64-bit), matching UMFPACK's `umfpack_dl_*` routines.
public struct SparseMatrix: Sendable, Equatable {
    public let rows: Int
    public let columns: Int
    public var columnStarts: [Int]
    public var rowIndices: [Int]
    public var values: [Double]

    public init(rows: Int, columns: Int, columnStarts: [Int], rowIndices: [Int], values: [Double]) {
        precondition(columnStarts.count == columns + 1 && rowIndices.count == values.count)
        self.rows = rows
        self.columns = columns
        self.columnStarts = columnStarts
        self.rowIndices = rowIndices
        self.values = values
    }

    public var nonzeroCount: Int { values.count }

    /// y = A x.
    public func multiply(_ x: [Double]) -> [Double] {
        precondition(x.count == columns)
        var y = [Double](repeating: 0, count: rows)
        values.withUnsafeBufferPointer { v in
            rowIndices.withUnsafeBufferPointer { ri in
                columnStarts.withUnsafeBufferPointer { cs in
                    y.withUnsafeMutableBufferPointer { yb in
                        for j in 0..<columns {
                            let xj = x[j]
                            if xj == 0 { continue }
                            for p in cs[j]..<cs[j + 1] { yb[ri[p]] += v[p] * xj }
                        }
                    }
                }
            }
        }
        return y
    }

    /// ‖A‖∞ = max over rows of Σ_j |A_ij|.
    public var infinityNorm: Double {
        var rowSums = [Double](repeating: 0, count: rows)
        for j in 0..<columns { for p in columnStarts[j]..<columnStarts[j + 1] { rowSums[rowIndices[p]] += abs(values[p]) } }
        return rowSums.max() ?? 0
    }

    /// Σ_i A_ij for every column j (zero for every column of a conservative Fokker–Planck operator).
    public var columnSums: [Double] {
        (0..<columns).map { j in (columnStarts[j]..<columnStarts[j + 1]).reduce(0) { $0 + values[$1] } }
    }

    /// α I + β A for a square A, with every diagonal entry stored (inserted where A has none).
    public func shifted(identity alpha: Double, plus beta: Double) -> SparseMatrix {
        precondition(rows == columns)
        var starts = [Int](repeating: 0, count: columns + 1)
        var newRows: [Int] = [], newValues: [Double] = []
        newRows.reserveCapacity(nonzeroCount + columns)
        newValues.reserveCapacity(nonzeroCount + columns)
        for j in 0..<columns {
            var placed = false
            for p in columnStarts[j]..<columnStarts[j + 1] {
                let i = rowIndices[p]
                if !placed && i > j { newRows.append(j); newValues.append(alpha); placed = true }
                if i == j { newRows.append(i); newValues.append(alpha + beta * values[p]); placed = true; continue }
                newRows.append(i)
                newValues.append(beta * values[p])
            }
            if !placed { newRows.append(j); newValues.append(alpha) }
            starts[j + 1] = newRows.count
        }
        return SparseMatrix(rows: rows, columns: columns, columnStarts: starts, rowIndices: newRows, values: newValues)
    }

    /// α A + β B for matrices of the same shape, on the union of their patterns (entries that
    /// cancel stay stored, so that matrices built for different α, β share one pattern).
    public func combined(_ alpha: Double, _ other: SparseMatrix, _ beta: Double) -> SparseMatrix {
        precondition(rows == other.rows && columns == other.columns)
        var starts = [Int](repeating: 0, count: columns + 1)
        var newRows: [Int] = [], newValues: [Double] = []
        newRows.reserveCapacity(nonzeroCount + other.nonzeroCount)
        newValues.reserveCapacity(nonzeroCount + other.nonzeroCount)
        for j in 0..<columns {
            var p = columnStarts[j], q = other.columnStarts[j]
            let pEnd = columnStarts[j + 1], qEnd = other.columnStarts[j + 1]
            while p < pEnd || q < qEnd {
                let i = p < pEnd ? rowIndices[p] : Int.max, k = q < qEnd ? other.rowIndices[q] : Int.max
                if i == k {
                    newRows.append(i); newValues.append(alpha * values[p] + beta * other.values[q]); p += 1; q += 1
                } else if i < k {
                    newRows.append(i); newValues.append(alpha * values[p]); p += 1
                } else {
                    newRows.append(k); newValues.append(beta * other.values[q]); q += 1
                }
            }
            starts[j + 1] = newRows.count
        }
        return SparseMatrix(rows: rows, columns: columns, columnStarts: starts, rowIndices: newRows, values: newValues)
    }

    /// The same matrix with row `row` replaced by the given entries (columns distinct).
    public func replacingRow(_ row: Int, with entries: [(column: Int, value: Double)]) -> SparseMatrix {
        precondition(row < rows)
        var replacement = [Int: Double]()
        for e in entries { replacement[e.column] = e.value }
        var starts = [Int](repeating: 0, count: columns + 1)
        var newRows: [Int] = [], newValues: [Double] = []
        newRows.reserveCapacity(nonzeroCount + entries.count)
        newValues.reserveCapacity(nonzeroCount + entries.count)
        for j in 0..<columns {
            var placed = replacement[j] == nil
            for p in columnStarts[j]..<columnStarts[j + 1] {
                let i = rowIndices[p]
                if !placed && i > row { newRows.append(row); newValues.append(replacement[j]!); placed = true }
                if i == row { continue }
                newRows.append(i)
                newValues.append(values[p])
            }
            if !placed { newRows.append(row); newValues.append(replacement[j]!) }
            starts[j + 1] = newRows.count
        }
        return SparseMatrix(rows: rows, columns: columns, columnStarts: starts, rowIndices: newRows, values: newValues)
    }

    /// The entry A_ij (0 when not stored).
    public subscript(i: Int, j: Int) -> Double {
        for p in columnStarts[j]..<columnStarts[j + 1] where rowIndices[p] == i { return values[p] }
        return 0
    }
}

extension SparseMatrix {
    /// The matrix of (row, column, value) entries in any order; repeated entries add up (the
    /// builder's scatter row), for operators assembled column by column (spectral generators).
    public init(rows: Int, columns: Int, triplets: [(row: Int, column: Int, value: Double)]) {
        // Counting sort by row (stable), then one builder row each.
        var starts = [Int](repeating: 0, count: rows + 1)
        for t in triplets { starts[t.row + 1] += 1 }
        for r in 0..<rows { starts[r + 1] += starts[r] }
        var next = starts
        var order = [Int](repeating: 0, count: triplets.count)
        for (k, t) in triplets.enumerated() { order[next[t.row]] = k; next[t.row] += 1 }
        var builder = SparseRowBuilder(rows: rows, columns: columns, estimatedNonzeros: triplets.count)
        for r in 0..<rows {
            for p in starts[r]..<starts[r + 1] { builder.add(column: triplets[order[p]].column, triplets[order[p]].value) }
            builder.endRow()
        }
        self = builder.build()
    }
}

/// Builds a CSC matrix one row at a time.
///
/// Rows arrive in order 0, 1, …; each row is summed in a dense scatter array (so repeated column
/// indices add up) and stored row-wise; `build()` transposes the row-wise store into CSC by a
/// counting sort, O(nnz), so columns come out sorted.
public struct SparseRowBuilder {
    public let rows: Int
    public let columns: Int
    private var rowStarts: [Int] = [0]
    private var columnIndices: [Int] = []
    private var entries: [Double] = []
    private var scatter: [Double]
    private var marker: [Int]
    private var touched: [Int] = []

    public init(rows: Int, columns: Int, estimatedNonzeros: Int = 0) {
        self.rows = rows
        self.columns = columns
        scatter = [Double](repeating: 0, count: columns)
        marker = [Int](repeating: -1, count: columns)
        columnIndices.reserveCapacity(estimatedNonzeros)
        entries.reserveCapacity(estimatedNonzeros)
        rowStarts.reserveCapacity(rows + 1)
    }

    /// Adds `value` to entry (current row, column).
    @inline(__always)
    public mutating func add(column: Int, _ value: Double) {
        let row = rowStarts.count - 1
        if marker[column] != row {
            marker[column] = row
            scatter[column] = value
            touched.append(column)
        } else {
            scatter[column] += value
        }
    }

    /// Closes the current row. Exact zeros produced by cancellation are kept out.
    public mutating func endRow() {
        touched.sort()
        for c in touched where scatter[c] != 0 {
            columnIndices.append(c)
            entries.append(scatter[c])
        }
        touched.removeAll(keepingCapacity: true)
        rowStarts.append(columnIndices.count)
    }

    public func build() -> SparseMatrix {
        precondition(rowStarts.count == rows + 1, "SparseRowBuilder: \(rowStarts.count - 1) of \(rows) rows")
        let nnz = entries.count
        var counts = [Int](repeating: 0, count: columns + 1)
        for c in columnIndices { counts[c + 1] += 1 }
        for j in 0..<columns { counts[j + 1] += counts[j] }
        let starts = counts
        var next = counts
        var rowIndex = [Int](repeating: 0, count: nnz)
        var vals = [Double](repeating: 0, count: nnz)
        for r in 0..<rows {
            for p in rowStarts[r]..<rowStarts[r + 1] {
                let c = columnIndices[p]
                let q = next[c]
                rowIndex[q] = r
                vals[q] = entries[p]
                next[c] = q + 1
            }
        }
        return SparseMatrix(rows: rows, columns: columns, columnStarts: starts, rowIndices: rowIndex, values: vals)
    }
}
