import Foundation
import TOMLKit

extension Problem {
    /// Problem files larger than this are refused unread: real ones are a few kilobytes.
    static let maximumFileBytes = 16 << 20

    /// Reads a problem file, applies `KEY=VALUE` overrides (dotted key paths, TOML values; a value
    /// that is not valid TOML is taken as a string), and checks it. `origins` names the command-line
    /// option behind an override's key (`grid.cells` → `--cells`), for messages; others are `--set`.
    public init(contentsOf path: String, overrides: [String] = [], origins: [String: String] = [:]) throws {
        func refuse(_ message: String) -> FokkerPlanckError { .badInput(file: path.printable, keyPath: nil, line: nil, message: message) }
        let size: Int
        switch FileKind(path) {
        case let .missing(error):
            throw refuse(error == ENOENT ? "no such file" : "cannot read the problem file: \(String(cString: strerror(error)))")
        case .directory: throw refuse("is a directory, not a problem file")
        case .special, .symbolicLink: throw refuse("is not a regular file (a device, FIFO or socket); give a TOML problem file")
        case let .regular(bytes, _): size = bytes
        }
        guard size <= Self.maximumFileBytes else {
            throw refuse("the problem file is \(size) bytes; problem files are small TOML texts (at most \(Self.maximumFileBytes >> 20) MiB)")
        }
        guard access(path, R_OK) == 0, let data = FileManager.default.contents(atPath: path) else {
            throw refuse("cannot read the problem file: permission denied")
        }
        guard !data.isEmpty else { throw refuse("the problem file is empty") }
        guard let text = String(data: data, encoding: .utf8) else { throw refuse("the problem file is not UTF-8 text") }
        try self.init(text: text, source: path, overrides: overrides, origins: origins)
    }

    /// Parses a problem from TOML text; `source` names it in errors and in the output.
    public init(text: String, source: String = "<problem>", overrides: [String] = [], origins: [String: String] = [:]) throws {
        let table: TOMLTable
        if let (line, problem) = TOMLPrecheck.misplacedBrace(in: text) {
            throw FokkerPlanckError.badInput(file: source.printable, keyPath: nil, line: line, message: "not valid TOML: " + problem)
        }
        do {
            table = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw FokkerPlanckError.badInput(file: source, keyPath: nil, line: error.source.begin.line,
                                             message: "not valid TOML: \(error.description)")
        }
        for override in overrides { try Self.apply(override: override, to: table, source: source) }
        // With overrides the stored text is the effective problem (re-serialised, so comments are
        // lost), headed by what was overridden: exactly what was solved, and a valid problem file.
        let effectiveText = overrides.isEmpty ? text
            : "# \(source) with --set " + overrides.joined(separator: " --set ") + "\n" + table.convert(to: .toml) + "\n"
        var overridden: [String: String] = [:]
        for override in overrides { let key = Self.overrideKey(override); overridden[key] = origins[key] ?? "--set" }
        let context = DecodingContext(file: source.printable, locator: SourceLocator(text: text), overridden: overridden)
        try self.init(table: table, context: context, text: effectiveText, source: source)
    }

    // MARK: Overrides

    static func overrideKey(_ override: String) -> String {
        String(override.prefix { $0 != "=" }).trimmingCharacters(in: .whitespaces)
    }

    static func apply(override: String, to table: TOMLTable, source: String) throws {
        guard let equals = override.firstIndex(of: "=") else {
            throw FokkerPlanckError.badInput(file: source, keyPath: override, line: nil,
                                             message: "an override must be KEY=VALUE (for example model.temperature=0.5)")
        }
        let key = String(override[..<equals]).trimmingCharacters(in: .whitespaces)
        let rawValue = String(override[override.index(after: equals)...]).trimmingCharacters(in: .whitespaces)
        // A newline would let the value end early and the rest pass as other keys, silently.
        guard !rawValue.contains(where: \.isNewline) else {
            throw FokkerPlanckError.badInput(file: source, keyPath: key.printable, line: nil,
                                             message: "an override value must be one line; this one contains a newline")
        }
        let parts = key.split(separator: ".").map(String.init)
        guard !parts.isEmpty, parts.allSatisfy({ !$0.isEmpty }) else {
            throw FokkerPlanckError.badInput(file: source, keyPath: key, line: nil, message: "an override needs a dotted key path")
        }
        if let (_, problem) = TOMLPrecheck.misplacedBrace(in: "value = " + rawValue) {
            throw FokkerPlanckError.badInput(file: source, keyPath: key.printable, line: nil, message: "the value is not valid TOML: " + problem)
        }
        let value: any TOMLValueConvertible
        do {
            let parsed = try TOMLTable(string: "value = " + rawValue)
            guard parsed.keys.count == 1, let v = parsed["value"] else {
                throw FokkerPlanckError.badInput(file: source, keyPath: key.printable, line: nil, message: "the value is not one TOML value")
            }
            value = v
        } catch let error as TOMLParseError {
            // A bare word (--set output.file=run.h5, evolve.scheme=bdf2) is taken as a string; a
            // value that starts like a number, array, table or quoted string must be valid TOML.
            if let first = rawValue.unicodeScalars.first, "[{\"'+-.0123456789".unicodeScalars.contains(first) || rawValue.isEmpty {
                throw FokkerPlanckError.badInput(file: source, keyPath: key.printable, line: nil,
                                                 message: "the value '\(rawValue.printable)' is not valid TOML: \(error.description)")
            }
            value = rawValue
        }
        var current = table
        for part in parts.dropLast() {
            if let next = current[part] {
                guard let nextTable = next.table else {
                    throw FokkerPlanckError.badInput(file: source, keyPath: key, line: nil,
                                                     message: "'\(part)' is not a table, so '\(key)' cannot be set")
                }
                current = nextTable
            } else {
                let fresh = TOMLTable()
                current[part] = fresh
                current = current[part]!.table!
            }
        }
        current[parts.last!] = value
    }
}
