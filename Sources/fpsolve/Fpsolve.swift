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
        do {
            var command = try parseAsRoot()
            try command.run()
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

/// A validation case (or several) failed: exit status 1.
struct ValidationFailed: Error {
    let message: String
}

enum Terminal {
    static func error(_ message: String) {
        FileHandle.standardError.write(Data((message + "\n").utf8))
    }

    /// Progress goes to stderr only when it is a terminal.
    static var stderrIsTerminal: Bool { isatty(2) == 1 }

    static func progress(_ message: String) {
        if stderrIsTerminal { error(message) }
    }
}
