import Foundation

/// A guard in front of the TOML parser (toml++ 3, inside TOMLKit 0.6.0), whose release build keeps
/// assertions that abort the process on two malformed inputs, both found by the mutation fuzzer:
/// a `}` where an array expects a value (`cells = [}`, `[1, }]`, `[[}]]`), and a table header
/// whose key starts with neither a bare-key character nor a quote (`[{model]`). The parser reports
/// every other malformation tried (the fuzzer's thousands, and a list of near misses in
/// OutputSafetyTests) as an error. This scan follows strings and comments exactly as TOML defines
/// them, so text inside them is never mistaken for structure.
enum TOMLPrecheck {
    static let arrayMessage = "'}' where an array expects a value or ']'"
    static let headerMessage = "a table header '[' must be followed on its line by a key (letters, digits, _ or -, or a quoted name)"

    /// The line (1-based) of the first such input, and what is wrong there; nil when there is none.
    static func misplacedBrace(in text: String) -> (line: Int, problem: String)? {
        let c = Array(text.unicodeScalars)
        var i = 0, line = 1
        var open: [Unicode.Scalar] = []
        var expectingValue = false
        var atLineStart = true      // where a key or a table header may begin (outside values)
        var expectingHeaderKey = false
        func starts(_ s: String, at k: Int) -> Bool {
            let pattern = Array(s.unicodeScalars)
            return k + pattern.count <= c.count && Array(c[k..<(k + pattern.count)]) == pattern
        }
        func skipString(quote: Unicode.Scalar, multiline: Bool, escapes: Bool) {
            let delimiter = String(repeating: String(quote), count: multiline ? 3 : 1)
            i += delimiter.count
            while i < c.count {
                if c[i] == "\n" { if !multiline { return }; line += 1 }
                if escapes && c[i] == "\\" { i += 2; continue }
                if starts(delimiter, at: i) { i += delimiter.count; return }
                i += 1
            }
        }
        while i < c.count {
            let ch = c[i]
            // A header's key must follow its '[' on the same line.
            if expectingHeaderKey && (ch == "#" || ch == "\n") { return (line, headerMessage) }
            if ch == "#" {
                while i < c.count && c[i] != "\n" { i += 1 }
                continue
            }
            if ch == "\n" { line += 1; i += 1; if open.isEmpty { atLineStart = true }; continue }
            if ch == " " || ch == "\t" || ch == "\r" { i += 1; continue }
            if expectingValue && ch == "}" { return (line, arrayMessage) }
            expectingValue = false
            if expectingHeaderKey {
                expectingHeaderKey = false
                let bare = ch.properties.isASCIIHexDigit || ("a"..."z").contains(ch) || ("A"..."Z").contains(ch) || ch == "_" || ch == "-"
                if !(bare || ch == "\"" || ch == "'" || (ch == "[" && c[i - 1] == "[")) { return (line, headerMessage) }
                if ch == "[" { expectingHeaderKey = true; i += 1; continue }
            }
            if atLineStart && ch == "[" {
                atLineStart = false
                expectingHeaderKey = true
                i += 1
                continue
            }
            atLineStart = false
            switch ch {
            case "\"": skipString(quote: "\"", multiline: starts("\"\"\"", at: i), escapes: true); continue
            case "'": skipString(quote: "'", multiline: starts("'''", at: i), escapes: false); continue
            case "[": open.append("["); expectingValue = true
            case "{": open.append("{")
            case "]", "}": _ = open.popLast()
            case ",": expectingValue = open.last == "["
            default: break
            }
            i += 1
        }
        return nil
    }
}
