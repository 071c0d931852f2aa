import Foundation

/// Finds the line of a key path (`model.diffusion[1][0]`) in a TOML text, so that semantic errors can
/// point at a line as parse errors do. Best effort: a key set by `--set` or written in an unusual form
/// has no line.
struct SourceLocator {
    private var lines: [String: Int] = [:]

    init(text: String) {
        var table = ""
        for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("[") {
                let name = line.trimmingCharacters(in: CharacterSet(charactersIn: "[] \t"))
                    .split(separator: "#").first.map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "[] \t")) } ?? ""
                table = name
                if lines[name] == nil { lines[name] = number + 1 }
                continue
            }
            guard let equals = line.firstIndex(of: "="), !line.hasPrefix("#") else { continue }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "\"", with: "")
            guard !key.isEmpty else { continue }
            let path = table.isEmpty ? key : table + "." + key
            if lines[path] == nil { lines[path] = number + 1 }
        }
    }

    /// The line of the longest prefix of `keyPath` that the text defines.
    func line(of keyPath: String) -> Int? {
        var path = keyPath
        if let bracket = path.firstIndex(of: "[") { path = String(path[..<bracket]) }
        while !path.isEmpty {
            if let line = lines[path] { return line }
            guard let dot = path.lastIndex(of: ".") else { break }
            path = String(path[..<dot])
        }
        return nil
    }
}
