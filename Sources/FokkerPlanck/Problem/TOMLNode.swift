import Foundation
import TOMLKit

/// A value of the problem file with the key path that leads to it, for typed, lenient decoding
/// (integers are accepted wherever reals are) with errors that name the file, key and line.
struct TOMLNode {
    let value: any TOMLValueConvertible
    let path: String
    let context: DecodingContext

    func fail(_ message: String) -> FokkerPlanckError {
        context.error(path, message)
    }

    var typeDescription: String {
        switch value.type {
        case .int: return "an integer"
        case .double: return "a real number"
        case .string: return "a string"
        case .bool: return "a boolean"
        case .array: return "an array"
        case .table: return "a table"
        default: return "a date or time"
        }
    }

    func number() throws -> Double {
        let result: Double
        switch value.type {
        case .int: result = Double(value.int!)
        case .double: result = value.double!
        default: throw fail("expected a number, found \(typeDescription)")
        }
        guard result.isFinite else { throw fail("must be finite, found \(result)") }
        return result
    }

    func integer() throws -> Int {
        switch value.type {
        case .int: return value.int!
        case .double:
            let d = value.double!
            guard d.isFinite, d == d.rounded(), abs(d) < 1e15 else { throw fail("expected a whole number, found \(d)") }
            return Int(d)
        default: throw fail("expected a whole number, found \(typeDescription)")
        }
    }

    func string() throws -> String {
        guard value.type == .string, let s = value.string else { throw fail("expected a string, found \(typeDescription)") }
        return s
    }

    func boolean() throws -> Bool {
        guard value.type == .bool, let b = value.bool else { throw fail("expected true or false, found \(typeDescription)") }
        return b
    }

    func array() throws -> [TOMLNode] {
        guard value.type == .array, let array = value.array else { throw fail("expected an array, found \(typeDescription)") }
        return array.enumerated().map { TOMLNode(value: $1, path: "\(path)[\($0)]", context: context) }
    }

    func numbers(count: Int? = nil) throws -> [Double] {
        let items = try array()
        if let count, items.count != count { throw fail("expected \(count) numbers, found \(items.count)") }
        return try items.map { try $0.number() }
    }

    func strings(count: Int? = nil) throws -> [String] {
        let items = try array()
        if let count, items.count != count { throw fail("expected \(count) strings, found \(items.count)") }
        return try items.map { try $0.string() }
    }

    /// A square matrix given as an array of rows.
    func matrix(size: Int) throws -> Matrix {
        let rows = try array()
        guard rows.count == size else { throw fail("expected a \(size)×\(size) matrix (\(size) rows), found \(rows.count) rows") }
        return Matrix(try rows.map { row in
            let values = try row.numbers()
            guard values.count == size else { throw row.fail("expected \(size) numbers in this row (the matrix must be \(size)×\(size)), found \(values.count)") }
            return values
        })
    }

    func table(allowed: Set<String>) throws -> TOMLTableNode {
        guard value.type == .table, let table = value.table else { throw fail("expected a table, found \(typeDescription)") }
        return try TOMLTableNode(table: table, path: path, context: context, allowed: allowed)
    }
}

/// A table whose keys have been checked against the allowed ones (unknown keys are an error, so
/// that typos are not silently ignored).
struct TOMLTableNode {
    let table: TOMLTable
    let path: String
    let context: DecodingContext

    init(table: TOMLTable, path: String, context: DecodingContext, allowed: Set<String>) throws {
        self.table = table
        self.path = path
        self.context = context
        for key in table.keys.sorted() where !allowed.contains(key) {
            let suggestion = allowed.sorted().joined(separator: ", ")
            throw context.error(child(key), "unknown key '\(key)'; the keys allowed here are: \(suggestion)")
        }
    }

    func child(_ key: String) -> String { path.isEmpty ? key : path + "." + key }

    func optional(_ key: String) -> TOMLNode? {
        guard let value = table[key] else { return nil }
        return TOMLNode(value: value, path: child(key), context: context)
    }

    /// A number that must be > 0; `defaultValue` when the key is absent (nil: the key is required).
    func positiveNumber(_ key: String, default defaultValue: Double?) throws -> Double {
        guard let node = optional(key) else {
            if let defaultValue { return defaultValue }
            throw context.error(child(key), "missing required key '\(key)'")
        }
        let value = try node.number()
        guard value > 0 else { throw node.fail("must be positive, found \(value)") }
        return value
    }

    func required(_ key: String) throws -> TOMLNode {
        guard let node = optional(key) else { throw context.error(child(key), "missing required key '\(key)'") }
        return node
    }
}

/// What every decoding error needs: the file name and the text, for line numbers.
struct DecodingContext {
    let file: String
    let locator: SourceLocator
    /// Key paths set on the command line, with the option that set them (`--set`, `--cells`, …):
    /// errors under them point at that option, not at a line of the file.
    var overridden: [String: String] = [:]

    func error(_ keyPath: String, _ message: String) -> FokkerPlanckError {
        let origin = overridden.first { key, _ in keyPath == key || keyPath.hasPrefix(key + ".") || keyPath.hasPrefix(key + "[") }?.value
        return .badInput(file: file, keyPath: origin.map { keyPath + " (from \($0))" } ?? keyPath,
                         line: origin == nil ? locator.line(of: keyPath) : nil, message: message)
    }
}
