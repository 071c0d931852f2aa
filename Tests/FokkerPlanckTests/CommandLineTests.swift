import FokkerPlanck
import Foundation
import XCTest

/// `fpsolve` as a user runs it: exit statuses, messages, and the promise that a refused or failed
/// run never creates or modifies an output file (SPEC §3–4).
final class CommandLineTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("fpsolve-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    /// fpsolve, built beside this test bundle.
    var executable: URL {
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var folder = bundle.deletingLastPathComponent()
        if bundle.pathExtension != "xctest" { folder = bundle.deletingLastPathComponent() }
        while !FileManager.default.fileExists(atPath: folder.appendingPathComponent("fpsolve").path), folder.path != "/" {
            folder = folder.deletingLastPathComponent()
        }
        return folder.appendingPathComponent("fpsolve")
    }

    static var repository: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    struct Run { var status: Int32; var stdout: String; var stderr: String }

    func fpsolve(_ arguments: [String]) throws -> Run {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.currentDirectoryURL = directory
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Run(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                   stderr: String(decoding: stderr, as: UTF8.self))
    }

    let good = """
        title = "test"
        [grid]
        axes = ["x", "y"]
        lower = [-4, -3]
        upper = [4, 3]
        cells = [24, 20]
        [model]
        type = "linear"
        drift_matrix = [[1, 0.3], [-0.4, 2]]
        diffusion = [[0.5, 0.2], [0.2, 0.3]]
        """

    func write(_ text: String, to name: String = "problem.toml") throws -> String {
        let url = directory.appendingPathComponent(name)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    // MARK: Success

    func testSolveWritesFileAndJSONSummary() throws {
        let problem = try write(good)
        let run = try fpsolve(["solve", problem, "-o", "out.h5", "--json"])
        XCTAssertEqual(run.status, 0, run.stderr)
        let json = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as! [String: Any]
        for key in ["output", "cells", "wall_seconds", "residual", "mass"] { XCTAssertNotNil(json[key], key) }
        XCTAssertEqual(json["cells"] as? [Int], [24, 20])
        XCTAssertEqual(json["mass"] as! Double, 1, accuracy: 1e-12)
        let summary = try OutputSummary(contentsOf: directory.appendingPathComponent("out.h5").path)
        XCTAssertEqual(summary.datasets.map(\.name).sorted(),
                       ["axis_column", "axis_row", "current_x", "current_y", "density", "potential", "stationary_covariance",
                        "velocity_x", "velocity_y", "x", "y"])
        XCTAssertEqual(summary.datasets.first { $0.name == "stationary_covariance" }?.shape, [2, 2])
        XCTAssertEqual(summary.attribute("Conventions"), .string("CF-1.8"))
        // The ParaView sidecar beside it.
        XCTAssertTrue(FileManager.default.fileExists(atPath: directory.appendingPathComponent("out.pvd").path))
        XCTAssertTrue(FileManager.default.fileExists(atPath: directory.appendingPathComponent("out_vtk/image.vti").path))
        XCTAssertEqual(summary.datasets.first { $0.name == "density" }?.shape, [24, 20])
        XCTAssertEqual(summary.attribute("model_type"), .string("linear"))
        XCTAssertEqual(summary.attribute("problem"), .string(good))
        let inspect = try fpsolve(["inspect", "out.h5"])
        XCTAssertEqual(inspect.status, 0)
        XCTAssertTrue(inspect.stdout.contains("residual"))
        XCTAssertTrue(inspect.stdout.contains("density"))
    }

    func testOverridesAndCellsReachTheSolveAndTheStoredProblem() throws {
        let problem = try write(good)
        let run = try fpsolve(["solve", problem, "-o", "o.h5", "--cells", "12,10", "--set", "model.temperature=2", "--quiet"])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertEqual(run.stdout, "")
        let summary = try OutputSummary(contentsOf: directory.appendingPathComponent("o.h5").path)
        XCTAssertEqual(summary.attribute("cells"), .integers([12, 10]))
        XCTAssertEqual(summary.attribute("temperature"), .double(2))
        guard case let .string(text)? = summary.attribute("problem") else { return XCTFail("no problem text") }
        // The stored text is a problem file that reproduces the run.
        let stored = try Problem(text: text)
        XCTAssertEqual(stored.grid.shape, [12, 10])
        XCTAssertEqual(stored.model.temperature, 2)
    }

    func testOutputFileDefaultsToTheProblemName() throws {
        let problem = try write(good, to: "named.toml")
        XCTAssertEqual(try fpsolve(["solve", problem, "--quiet"]).status, 0)
        XCTAssertTrue(FileManager.default.fileExists(atPath: directory.appendingPathComponent("named.h5").path))
    }

    func testHelpListsTheCommands() throws {
        let run = try fpsolve(["--help"])
        XCTAssertEqual(run.status, 0)
        for command in ["solve", "evolve", "validate", "inspect"] { XCTAssertTrue(run.stdout.contains(command), command) }
        let solve = try fpsolve(["solve", "--help"])
        for flag in ["--output", "--cells", "--set", "--json", "--quiet"] { XCTAssertTrue(solve.stdout.contains(flag), flag) }
    }

    // MARK: Evolve

    var evolving: String {
        good + """

            [evolve]
            t_end = 1.0
            dt = 0.05
            scheme = "crank-nicolson"
            frames = 5
            initial = { type = "gaussian", mean = [1.0, 0.0], covariance = [[0.1, 0.0], [0.0, 0.1]] }
            """
    }

    let gaussianLine = "initial = { type = \"gaussian\", mean = [1.0, 0.0], covariance = [[0.1, 0.0], [0.0, 0.1]] }"
    let fileLine = "initial = { type = \"file\", path = \"first.h5\" }"

    func testEvolveContinuesFromAnEarlierFile() throws {
        let problem = try write(evolving)
        XCTAssertEqual(try fpsolve(["evolve", problem, "-o", "first.h5", "--quiet"]).status, 0)
        // The second leg starts from the last frame of the first, at its time.
        let second = try write(evolving.replacingOccurrences(of: gaussianLine, with: fileLine), to: "second.toml")
        let run = try fpsolve(["evolve", second, "-o", "second.h5", "--json"])
        XCTAssertEqual(run.status, 0, run.stderr)
        // One run over the whole interval, with the same steps.
        XCTAssertEqual(try fpsolve(["evolve", problem, "-o", "whole.h5", "--t-end", "2", "--frames", "9", "--quiet"]).status, 0)
        let secondTime = try OutputSummary.read("time", from: directory.appendingPathComponent("second.h5").path).values
        XCTAssertEqual(secondTime.first!, 1, accuracy: 1e-14)
        XCTAssertEqual(secondTime.last!, 2, accuracy: 1e-14)
        let a = try OutputSummary.read("density", from: directory.appendingPathComponent("second.h5").path)
        let b = try OutputSummary.read("density", from: directory.appendingPathComponent("whole.h5").path)
        let n = 24 * 20
        // Crank–Nicolson restarts exactly: the same steps on the same data, up to round-off.
        XCTAssertLessThan(zip(a.values.suffix(n), b.values.suffix(n)).map { abs($0 - $1) }.max()!, 1e-12)
        let bad = evolving.replacingOccurrences(of: gaussianLine, with: fileLine)
            .replacingOccurrences(of: "cells = [24, 20]", with: "cells = [24, 21]")
        let mismatch = try fpsolve(["evolve", try write(bad, to: "bad.toml"), "-o", "bad.h5"])
        XCTAssertEqual(mismatch.status, 2, mismatch.stderr)
        XCTAssertTrue(mismatch.stderr.contains("first.h5"), mismatch.stderr)
    }

    /// SIGINT (exit 130) and SIGTERM (exit 143) stop the run at the next step: a valid partial
    /// file with complete = 0 beside an untouched target.
    func testInterruptedEvolveKeepsFramesAndLeavesTargetUntouched() throws {
        let problem = try write(evolving.replacingOccurrences(of: "cells = [24, 20]", with: "cells = [120, 100]"))
        for (signal, status) in [(SIGINT, Int32(130)), (SIGTERM, Int32(143))] {
            let keep = directory.appendingPathComponent("keep.h5")
            try Data("precious".utf8).write(to: keep)
            let partial = directory.appendingPathComponent("keep.partial.h5").path
            // The partial file of the first signal and its sidecar go, so the second is kept under the same name.
            for name in ["keep.partial.h5", "keep.partial.pvd", "keep.partial_vtk"] {
                try? FileManager.default.removeItem(at: directory.appendingPathComponent(name))
            }
            let process = Process()
            process.executableURL = executable
            // --force: "precious" is not an fpsolve output, so without it the target is refused.
            process.arguments = ["evolve", problem, "-o", keep.path, "--dt", "1e-5", "--frames", "2001", "--quiet", "--force"]
            process.currentDirectoryURL = directory
            process.standardError = Pipe()
            try process.run()
            // Let it factor and write the first frames (a frame every 50 steps of a few ms).
            Thread.sleep(forTimeInterval: 1.5)
            XCTAssertTrue(process.isRunning, "the run should take far longer than 1.5 s")
            kill(process.processIdentifier, signal)
            process.waitUntilExit()
            XCTAssertEqual(process.terminationStatus, status)
            XCTAssertEqual(try String(contentsOf: keep, encoding: .utf8), "precious")
            let summary = try OutputSummary(contentsOf: partial)
            XCTAssertEqual(summary.attribute("complete"), .integer(0))
            let time = try OutputSummary.read("time", from: partial).values
            let density = try OutputSummary.read("density", from: partial)
            XCTAssertGreaterThanOrEqual(time.count, 1)
            XCTAssertLessThan(time.count, 2001)
            XCTAssertEqual(density.shape, [time.count, 120, 100])
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.contains(".fpsolve-tmp-") }
            XCTAssertEqual(leftovers, [])
        }
    }

    func testEvolveBadInput() throws {
        let cases: [(String, String, String)] = [
            ("no [evolve]", good, "evolve"),
            ("spectral", evolving.replacingOccurrences(of: "crank-nicolson", with: "spectral"), "evolve.scheme"),
            ("unknown scheme", evolving.replacingOccurrences(of: "crank-nicolson", with: "rk4"), "evolve.scheme"),
            ("negative dt", evolving.replacingOccurrences(of: "dt = 0.05", with: "dt = -0.05"), "evolve.dt"),
            ("one frame", evolving.replacingOccurrences(of: "frames = 5", with: "frames = 1"), "evolve.frames"),
            ("bad initial", evolving.replacingOccurrences(of: "\"gaussian\"", with: "\"gausian\""), "evolve.initial.type"),
        ]
        for (name, text, mentions) in cases {
            let run = try fpsolve(["evolve", try write(text), "-o", "e.h5"])
            XCTAssertEqual(run.status, 2, "\(name): \(run.stderr)")
            XCTAssertTrue(run.stderr.contains(mentions), "\(name): \(run.stderr)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: directory.appendingPathComponent("e.h5").path), name)
        }
    }

    // MARK: Bad input

    /// Every kind of bad input of SPEC §3: exit 2, a message naming the file and the key, and an
    /// existing output untouched with no temporary file left.
    func testBadInputIsRefusedWithoutTouchingOutput() throws {
        let cases: [(name: String, text: String, extra: [String], mentions: [String])] = [
            ("unknown key", good + "\nsolver = 1\n", [], ["model.solver", "unknown key"]),
            ("unknown top-level table", good.replacingOccurrences(of: "[grid]", with: "[gird]\n[grid]"), [], ["gird"]),
            ("wrong type", good.replacingOccurrences(of: "cells = [24, 20]", with: "cells = \"many\""), [], ["grid.cells"]),
            ("non-square D", good.replacingOccurrences(of: "[[0.5, 0.2], [0.2, 0.3]]", with: "[[0.5, 0.2, 0.1], [0.2, 0.3, 0.1]]"), [], ["model.diffusion"]),
            ("non-symmetric D", good.replacingOccurrences(of: "[0.2, 0.3]]", with: "[0.1, 0.3]]"), [], ["model.diffusion[1][0]", "symmetric"]),
            ("indefinite D", good.replacingOccurrences(of: "[[0.5, 0.2], [0.2, 0.3]]", with: "[[0.5, 0.9], [0.9, 0.3]]"), [], ["model.diffusion", "semi-definite"]),
            ("lower ≥ upper", good.replacingOccurrences(of: "upper = [4, 3]", with: "upper = [4, -3]"), [], ["grid.upper[1]"]),
            ("too few cells", good.replacingOccurrences(of: "cells = [24, 20]", with: "cells = [24, 2]"), [], ["grid.cells[1]"]),
            ("NaN", good.replacingOccurrences(of: "lower = [-4, -3]", with: "lower = [nan, -3]"), [], ["grid.lower[0]", "finite"]),
            ("infinity", good.replacingOccurrences(of: "[-0.4, 2]", with: "[-0.4, inf]"), [], ["model.drift_matrix[1][1]"]),
            ("unknown model type", good.replacingOccurrences(of: "\"linear\"", with: "\"lineer\""), [], ["model.type", "lineer"]),
            ("absorbing walls", good + "", ["--set", "grid.boundary=[\"absorbing\", \"reflecting\"]"], ["grid.boundary", "stationary"]),
            ("noise that misses a direction", good.replacingOccurrences(of: "[[0.5, 0.2], [0.2, 0.3]]", with: "[[0.5, 0], [0, 0]]")
                .replacingOccurrences(of: "[[1, 0.3], [-0.4, 2]]", with: "[[1, 0], [0, 2]]"), [], ["model.diffusion", "not unique"]),
            ("grid too large for memory", good, ["--cells", "400,400,400"], ["grid.cells"]),
            ("grid beyond memory", good.replacingOccurrences(of: "cells = [24, 20]", with: "cells = [40000, 40000]"), [], ["grid.cells", "GiB"]),
            ("malformed TOML", good + "\n[model\n", [], ["line"]),
            ("unknown solve method", good + "\n[solve]\nmethod = \"gmres\"\n", [], ["solve.method", "iterative"]),
            ("GMRES restart 0", good + "\n[solve]\nmethod = \"iterative\"\nrestart = 0\n", [], ["solve.restart"]),
            ("GMRES tolerance ≥ 1", good + "\n[solve]\nmethod = \"iterative\"\ntolerance = 2\n", [], ["solve.tolerance"]),
            ("preconditioner too large", good + "\n[solve]\nmethod = \"iterative\"\n", ["--cells", "5000,20"], ["grid.cells", "dense"]),
            ("iterative on 2-d phase space", """
                [grid]
                lower = [-3, -3]
                upper = [3, 3]
                cells = [20, 20]
                [model]
                type = "linear"
                drift_matrix = [[0, -1], [1, 0.5]]
                diffusion = [[0, 0], [0, 0.5]]
                [solve]
                method = "iterative"
                """, [], ["solve.method", "direct"]),
            ("bad --set", good, ["--set", "nonsense"], ["KEY=VALUE"]),
            ("bad --cells", good, ["--cells", "a,b"], ["--cells"]),
            ("missing output directory", good, ["-o", "no/such/dir/out.h5"], ["does not exist"]),
        ]
        let keep = directory.appendingPathComponent("keep.h5")
        for testCase in cases {
            try Data("precious".utf8).write(to: keep)
            let problem = try write(testCase.text)
            var arguments = ["solve", problem]
            if !testCase.extra.contains("-o") { arguments += ["-o", keep.path] }
            let run = try fpsolve(arguments + testCase.extra)
            XCTAssertEqual(run.status, 2, "\(testCase.name): \(run.stderr)")
            for word in testCase.mentions {
                XCTAssertTrue(run.stderr.contains(word), "\(testCase.name): '\(word)' not in: \(run.stderr)")
            }
            if !testCase.extra.contains("-o") && !testCase.name.hasPrefix("bad --cells") && !testCase.name.hasPrefix("bad --set") {
                XCTAssertTrue(run.stderr.contains("problem.toml"), "\(testCase.name): file not named: \(run.stderr)")
            }
            XCTAssertEqual(try String(contentsOf: keep, encoding: .utf8), "precious", testCase.name)
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.contains(".tmp-") }
            XCTAssertEqual(leftovers, [], testCase.name)
        }
    }

    func testUnknownOptionAndMissingFileAreBadInput() throws {
        XCTAssertEqual(try fpsolve(["solve", "--no-such-flag", "x.toml"]).status, 2)
        let missing = try fpsolve(["solve", "missing.toml"])
        XCTAssertEqual(missing.status, 2)
        XCTAssertTrue(missing.stderr.contains("missing.toml"))
        XCTAssertEqual(try fpsolve(["inspect", "missing.h5"]).status, 2)
    }

    /// A validation case `name`.toml in `cases` against the closed form of `problem`'s OU.
    func writeCase(_ name: String, in cases: URL, problem: String, _ keys: String) throws {
        try ("[case]\nreference = \"ou-stationary\"\nproblem = \"\(problem)\"\n" + keys)
            .write(to: cases.appendingPathComponent("\(name).toml"), atomically: true, encoding: .utf8)
    }

    func testValidateReportsCasesAndFailsWhenACaseFails() throws {
        let cases = directory.appendingPathComponent("cases")
        try FileManager.default.createDirectory(at: cases, withIntermediateDirectories: true)
        let problem = try write(good)
        try writeCase("fine", in: cases, problem: problem, """
            cells = [[64, 48], [128, 96]]
            min_order = 1.8
            """)
        // An impossible bound: the error at 24×20 is ~5e-2, far above 1e-9.
        try writeCase("strict", in: cases, problem: problem, """
            cells = [[24, 20]]
            max_density_error = 1e-9
            """)
        let pass = try fpsolve(["validate", "fine", "--cases-directory", cases.path])
        XCTAssertEqual(pass.status, 0, pass.stdout + pass.stderr)
        XCTAssertTrue(pass.stdout.contains("1 passed, 0 failed"))
        let fail = try fpsolve(["validate", "--cases-directory", cases.path, "--json"])
        XCTAssertEqual(fail.status, 1)
        let json = try JSONSerialization.jsonObject(with: Data(fail.stdout.utf8)) as! [String: Any]
        XCTAssertEqual(json["failed"] as? Int, 1)
        XCTAssertEqual(json["passed"] as? Int, 1)
    }

    /// A spectral study (modes instead of cells) is judged by its error's decay per step: a
    /// mismatched basis converges and passes; an expansion whose error does not fall fails, and a
    /// study that mixes cells with modes is refused as bad input.
    func testSpectralValidationStudyIsJudgedByDecay() throws {
        let cases = directory.appendingPathComponent("spectral-cases")
        try FileManager.default.createDirectory(at: cases, withIntermediateDirectories: true)
        let problem = try write(good)
        // Diagonal scale 0.67, 0.43 against P's correlated Gaussian: measured 60× per 16 modes.
        try writeCase("converges", in: cases, problem: problem, """
            set = ["discretization.scale=[0.67, 0.43]"]
            basis = ["hermite", "hermite"]
            modes = [[16, 16], [32, 32]]
            min_decay = 20
            order_fields = ["L1(ρ)", "L1(J)"]
            """)
        // The default basis makes ρ its ground mode: round-off at every mode count, so its error
        // cannot fall 2× per step, and with no decay_floor that must fail.
        try writeCase("stalls", in: cases, problem: problem, """
            basis = ["hermite", "hermite"]
            modes = [[4, 4], [8, 8]]
            min_decay = 2
            """)
        let pass = try fpsolve(["validate", "converges", "--cases-directory", cases.path])
        XCTAssertEqual(pass.status, 0, pass.stdout + pass.stderr)
        XCTAssertTrue(pass.stdout.contains("modes") && pass.stdout.contains("error decay per step L1(ρ)"), pass.stdout)
        let fail = try fpsolve(["validate", "stalls", "--cases-directory", cases.path])
        XCTAssertEqual(fail.status, 1, fail.stdout + fail.stderr)
        XCTAssertTrue(fail.stdout.contains("not the ≥ 2× of exponential convergence"), fail.stdout)
        try writeCase("mixed", in: cases, problem: problem, """
            basis = ["hermite", "hermite"]
            modes = [[4, 4], [8, 8]]
            cells = [[24, 20]]
            """)
        let mixed = try fpsolve(["validate", "mixed", "--cases-directory", cases.path])
        XCTAssertEqual(mixed.status, 2, mixed.stdout + mixed.stderr)
        XCTAssertTrue(mixed.stderr.contains("cells belongs to a grid study"), mixed.stderr)
    }
}
