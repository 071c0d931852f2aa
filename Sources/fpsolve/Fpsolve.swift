import ArgumentParser
import FokkerPlanck
import Foundation

/// `fpsolve`: a thin command line over the FokkerPlanck library (SPEC §4). Argument parsing and
/// checks live here; every number is computed by the library.
///
/// Exit status: 0 success, 1 a validation case failed or the solver did not converge, 2 bad input
/// (including malformed command lines).
@main
struct Fpsolve: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fpsolve",
        abstract: "Fokker–Planck solver: stationary densities, currents and potentials on grids, stored in HDF5.",
        discussion: """
            Exit status: 0 success, 1 a validation case failed or the solver did not converge, 2 bad input.
            Problem files are TOML; see README.md and the examples in grids/.
            """,
        version: fpsolveVersion,
        subcommands: [Solve.self, Evolve.self, Validate.self, Inspect.self]
    )

    static func main() {
        // A full disk simulated by a file-size limit (ulimit -f) must make writes fail with EFBIG,
        // which the writers handle, not kill the process half-way.
        signal(SIGXFSZ, SIG_IGN)
        // A closed pipe on stdout makes writes fail (checked at the end), not kill the process.
        signal(SIGPIPE, SIG_IGN)
        do {
            var command = try parseAsRoot(joiningNegativeValues(Array(CommandLine.arguments.dropFirst())))
            try command.run()
            if fflush(nil) != 0 {
                Terminal.error("fpsolve: cannot write to standard output: \(String(cString: strerror(errno))) (the output file is complete)")
                Foundation.exit(1)
            }
        } catch let error as FokkerPlanckError {
            Terminal.error("fpsolve: " + error.description)
            Foundation.exit(error.exitStatus)
        } catch let exit as ExitCode {
            Foundation.exit(exit.rawValue)
        } catch let failure as ValidationFailed {
            Terminal.error("fpsolve: " + failure.message)
            Foundation.exit(1)
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                print(fullMessage(for: error))
                Foundation.exit(0)
            }
            Terminal.error(fullMessage(for: error))
            // Every other error is a malformed command line: bad input.
            Foundation.exit(2)
        }
    }
}

/// `--dt -0.1` as `--dt=-0.1`: the argument parser takes a value starting with '-' for an option
/// and would answer "Missing value"; joined, the value reaches the problem's own check, which says
/// what is wrong with it.
func joiningNegativeValues(_ arguments: [String]) -> [String] {
    let numeric: Set<String> = ["--dt", "--t-end", "--frames", "--cells", "--modes"]
    var result: [String] = []
    var index = 0
    while index < arguments.count {
        let argument = arguments[index]
        if numeric.contains(argument), index + 1 < arguments.count,
           arguments[index + 1].range(of: "^-[0-9.]", options: .regularExpression) != nil {
            result.append(argument + "=" + arguments[index + 1])
            index += 2
        } else {
            result.append(argument)
            index += 1
        }
    }
    return result
}

/// A validation case (or several) failed: exit status 1.
struct ValidationFailed: Error {
    let message: String
}

enum Terminal {
    /// Writes a message on stderr, with terminal escapes from file names and titles defused.
    static func error(_ message: String) {
        writeStderr(message.printable + "\n")
    }

    /// write(2) on stderr, ignoring failures: a closed or full stderr must not crash the run
    /// (FileHandle raises an exception there).
    static func writeStderr(_ text: String) {
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeMutableBytes { write(2, $0.baseAddress! + offset, $0.count - offset) }
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else { return }
            offset += written
        }
    }

    /// Progress goes to stderr only when it is a terminal.
    static var stderrIsTerminal: Bool { isatty(2) == 1 }

    static func progress(_ message: String) {
        if stderrIsTerminal { error(message) }
    }
}

/// One JSON object as text, with non-finite numbers written as null (JSON has no NaN or ∞, and
/// JSONSerialization refuses them — a diagnostic that overflowed must not cost the summary).
func jsonText(_ object: [String: Any]) throws -> String {
    func clean(_ value: Any) -> Any {
        switch value {
        case let number as Double: return number.isFinite ? number : NSNull()
        case let array as [Any]: return array.map(clean)
        case let dictionary as [String: Any]: return dictionary.mapValues(clean)
        default: return value
        }
    }
    let data = try JSONSerialization.data(withJSONObject: clean(object), options: [.sortedKeys])
    return String(decoding: data, as: UTF8.self)
}
