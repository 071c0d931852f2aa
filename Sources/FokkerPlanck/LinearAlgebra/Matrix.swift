import CLapack
import Foundation

/// A small dense real matrix, row-major: `self[i, j]` is `elements[i * columns + j]`.
///
/// Used for the model coefficients (d ≤ 8) and the closed-form references; all heavy lifting on
/// grids happens in sparse form. Factorizations go through LAPACKE (OpenBLAS).
public struct Matrix: Equatable, Sendable, CustomStringConvertible {
    public let rows: Int
    public let columns: Int
    public var elements: [Double]

    public init(rows: Int, columns: Int, elements: [Double]) {
        precondition(elements.count == rows * columns, "Matrix: \(elements.count) elements for \(rows)×\(columns)")
        self.rows = rows
        self.columns = columns
        self.elements = elements
    }

    public init(rows: Int, columns: Int, repeating value: Double = 0) {
        self.init(rows: rows, columns: columns, elements: Array(repeating: value, count: rows * columns))
    }

    /// Builds a matrix from its rows; all rows must have the same length.
    public init(_ rowArrays: [[Double]]) {
        let r = rowArrays.count
        let c = rowArrays.first?.count ?? 0
        precondition(rowArrays.allSatisfy { $0.count == c }, "Matrix: ragged rows")
        self.init(rows: r, columns: c, elements: rowArrays.flatMap { $0 })
    }

    public static func identity(_ n: Int) -> Matrix {
        var m = Matrix(rows: n, columns: n)
        for i in 0..<n { m[i, i] = 1 }
        return m
    }

    public static func diagonal(_ values: [Double]) -> Matrix {
        var m = Matrix(rows: values.count, columns: values.count)
        for (i, v) in values.enumerated() { m[i, i] = v }
        return m
    }

    public subscript(i: Int, j: Int) -> Double {
        get { elements[i * columns + j] }
        set { elements[i * columns + j] = newValue }
    }

    public var isSquare: Bool { rows == columns }
    public var rowArrays: [[Double]] { (0..<rows).map { Array(elements[($0 * columns)..<(($0 + 1) * columns)]) } }

    public var transposed: Matrix {
        var t = Matrix(rows: columns, columns: rows)
        for i in 0..<rows { for j in 0..<columns { t[j, i] = self[i, j] } }
        return t
    }

    /// The largest absolute entry (0 for an empty matrix).
    public var maxAbs: Double { elements.reduce(0) { max($0, abs($1)) } }

    public var description: String {
        rowArrays.map { "[" + $0.map { String(format: "%.6g", $0) }.joined(separator: ", ") + "]" }
            .joined(separator: ", ")
    }

    // MARK: Arithmetic

    public static func * (a: Matrix, b: Matrix) -> Matrix {
        precondition(a.columns == b.rows, "Matrix product: \(a.rows)×\(a.columns) · \(b.rows)×\(b.columns)")
        var c = Matrix(rows: a.rows, columns: b.columns)
        for i in 0..<a.rows {
            for k in 0..<a.columns {
                let aik = a[i, k]
                if aik == 0 { continue }
                for j in 0..<b.columns { c[i, j] += aik * b[k, j] }
            }
        }
        return c
    }

    public static func * (a: Matrix, x: [Double]) -> [Double] {
        precondition(a.columns == x.count)
        return (0..<a.rows).map { i in
            var s = 0.0
            for j in 0..<a.columns { s += a[i, j] * x[j] }
            return s
        }
    }

    public static func * (s: Double, a: Matrix) -> Matrix {
        Matrix(rows: a.rows, columns: a.columns, elements: a.elements.map { s * $0 })
    }

    public static func + (a: Matrix, b: Matrix) -> Matrix {
        precondition(a.rows == b.rows && a.columns == b.columns)
        return Matrix(rows: a.rows, columns: a.columns, elements: zip(a.elements, b.elements).map { $0 + $1 })
    }

    public static func - (a: Matrix, b: Matrix) -> Matrix {
        precondition(a.rows == b.rows && a.columns == b.columns)
        return Matrix(rows: a.rows, columns: a.columns, elements: zip(a.elements, b.elements).map { $0 - $1 })
    }

    /// Quadratic form xᵀ M x.
    public func quadraticForm(_ x: [Double]) -> Double {
        precondition(isSquare && x.count == rows)
        var s = 0.0
        for i in 0..<rows {
            var r = 0.0
            for j in 0..<columns { r += self[i, j] * x[j] }
            s += x[i] * r
        }
        return s
    }

    /// Largest |M_ij − M_ji| relative to the largest entry; 0 for a symmetric matrix.
    public var asymmetry: Double {
        precondition(isSquare)
        let scale = max(maxAbs, .leastNormalMagnitude)
        var worst = 0.0
        for i in 0..<rows { for j in 0..<i { worst = max(worst, abs(self[i, j] - self[j, i])) } }
        return worst / scale
    }
}
