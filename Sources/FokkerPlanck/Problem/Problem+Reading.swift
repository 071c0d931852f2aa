import Foundation
import TOMLKit

extension Problem {
    /// Reads a problem file, applies `KEY=VALUE` overrides (dotted key paths, TOML values; a value
    /// that is not valid TOML is taken as a string), and checks it.
    public init(contentsOf path: String, overrides: [String] = []) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw FokkerPlanckError.badInput(file: path, keyPath: nil, line: nil, message: "cannot read the problem file")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw FokkerPlanckError.badInput(file: path, keyPath: nil, line: nil, message: "the problem file is not UTF-8 text")
        }
        try self.init(text: text, source: path, overrides: overrides)
    }

    /// Parses a problem from TOML text; `source` names it in errors and in the output.
    public init(text: String, source: String = "<problem>", overrides: [String] = []) throws {
        let table: TOMLTable
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
        let context = DecodingContext(file: source, locator: SourceLocator(text: text),
                                      overridden: Set(overrides.map(Self.overrideKey)))
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
        let parts = key.split(separator: ".").map(String.init)
        guard !parts.isEmpty, parts.allSatisfy({ !$0.isEmpty }) else {
            throw FokkerPlanckError.badInput(file: source, keyPath: key, line: nil, message: "an override needs a dotted key path")
        }
        let value: any TOMLValueConvertible
        if let parsed = try? TOMLTable(string: "value = " + rawValue), let v = parsed["value"] {
            value = v
        } else {
            value = rawValue  // a bare word, e.g. --set output.file=run.h5
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
