import Foundation

/// Everything that can go wrong, split by who is to blame: the input (exit status 2) or the
/// computation (exit status 1). Messages are one paragraph, for a person.
public enum FokkerPlanckError: Error, CustomStringConvertible, Sendable {
    /// The problem file, an override or a command-line value is malformed or not meaningful.
    /// `file` and `keyPath` name where; `line` is given when it is known.
    case badInput(file: String?, keyPath: String?, line: Int?, message: String)
    /// A solver failed (singular factorization, non-finite result, residual too large).
    case solverFailed(String)
    /// Reading or writing a file failed.
    case io(String)

    public var description: String {
        switch self {
        case let .badInput(file, keyPath, line, message):
            var location: [String] = []
            if let file { location.append(file) }
            if let line { location.append("line \(line)") }
            if let keyPath, !keyPath.isEmpty { location.append(keyPath.hasPrefix("-") ? "option \(keyPath)" : "key '\(keyPath)'") }
            return location.isEmpty ? message : location.joined(separator: ", ") + ": " + message
        case let .solverFailed(message): return "solver failed: " + message
        case let .io(message): return message
        }
    }

    /// The process exit status the command line uses for this error (SPEC §4).
    public var exitStatus: Int32 {
        switch self {
        case .badInput: return 2
        case .solverFailed: return 1
        case .io: return 1
        }
    }
}
