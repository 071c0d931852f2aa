import Foundation
import XCTest
@testable import FokkerPlanck

/// The library pieces behind "nothing lost, no crash on hostile input": the TOML guard, the
/// expression bounds, text made safe to print, temporary and partial names, and the ParaView
/// layout transposition. The command-line behaviour is tested end to end by
/// validation/fault_suite.py.
final class OutputSafetyTests: XCTestCase {
    func testTOMLPrecheckFindsTheBraceThatAbortsTheParser() {
        for text in ["a = [}]", "a = [1,}]", "a = [[}]]", "a = { b = [}] }", "a = [ # c\n}]", "x = 1\ncells = [\n}-128, 128]",
                     "[{#\"model]", "[[{x]]", "[\nx = 1", "[# c\nx = 1", "[[\n", "x = 1\n  [ {x]", "[a]\ncells = [}]"] {
            XCTAssertNotNil(TOMLPrecheck.misplacedBrace(in: text), text)
        }
        XCTAssertEqual(TOMLPrecheck.misplacedBrace(in: "x = 1\ncells = [\n}-128, 128]")?.line, 3)
        // Inside strings and comments a brace is text; elsewhere it is legal structure.
        for text in ["title = \"[}\"", "a = '''[\n}'''", "a = \"\"\"[}\"\"\"", "# [}\na = 1", "a = { b = [1, 2] }", "a = [{ b = 1 }]",
                     "a = \"\\\"[}\"", "a = [1, 2, ]", "[a]\nb = 1", "[[a.b]]\nc = [1]", "[ \"q r\" ]", "[ 'q' ]\n[x-y_1]",
                     "a = [\n  [1, 2],\n  [3, 4],\n]"] {
            XCTAssertNil(TOMLPrecheck.misplacedBrace(in: text), text)
        }
        XCTAssertThrowsError(try Problem(text: "title = 'x'\n[grid]\ncells = [}]\n"))
    }

    func testExpressionNestingAndLengthAreBounded() throws {
        var parser = FormulaParser(variables: ["x"])
        let deep = String(repeating: "(", count: 100_000) + "x" + String(repeating: ")", count: 100_000)
        XCTAssertThrowsError(try parser.parse(deep))
        XCTAssertThrowsError(try parser.parse(String(repeating: "-", count: 500) + "x"))
        XCTAssertThrowsError(try parser.parse(Array(repeating: "x", count: 3000).joined(separator: "+")))
        // Within the bounds: 90 levels of parentheses evaluate as usual.
        let fine = String(repeating: "(", count: 90) + "x" + String(repeating: ")", count: 90)
        XCTAssertEqual(try parser.parse(fine).evaluate([2]), 2)
    }

    func testPrintableDefusesTerminalEscapes() {
        XCTAssertEqual("\u{1B}[31mRED\u{1B}[0m".printable, "\\u{1b}[31mRED\\u{1b}[0m")
        XCTAssertEqual("a\tb\nc – ρ".printable, "a\tb\nc – ρ")
        XCTAssertFalse("x\u{202E}y".printable.unicodeScalars.contains("\u{202E}"))
    }

    func testTemporaryNamesFitAndPartialFilesAreNeverReplaced() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("fp-safety-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let long = directory.appendingPathComponent(String(repeating: "a", count: 250) + ".h5").path
        let temporaries = [OutputTarget.temporaryPath(for: long), OutputTarget.temporaryPath(for: long + "x", tag: "vtk")]
        for path in temporaries { XCTAssertLessThanOrEqual(URL(fileURLWithPath: path).lastPathComponent.utf8.count, 255) }
        XCTAssertNotEqual(temporaries[0], OutputTarget.temporaryPath(for: long, tag: "vtk"))

        let target = directory.appendingPathComponent("run.h5").path
        XCTAssertEqual(OutputTarget.partialPath(for: target), directory.appendingPathComponent("run.partial.h5").path)
        FileManager.default.createFile(atPath: directory.appendingPathComponent("run.partial.h5").path, contents: Data("kept".utf8))
        XCTAssertEqual(OutputTarget.partialPath(for: target), directory.appendingPathComponent("run.partial-1.h5").path)
        // A sidecar alone also reserves its name.
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("run.partial-1_vtk"), withIntermediateDirectories: false)
        XCTAssertEqual(OutputTarget.partialPath(for: target), directory.appendingPathComponent("run.partial-2.h5").path)
    }

    func testStaleTemporariesOfDeadProcessesAreRemovedOthersKept() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("fp-stale-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        // A process id that is not running: a child that has exited and been reaped.
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/bin/true")
        try child.run()
        child.waitUntilExit()
        let dead = directory.appendingPathComponent(".out.h5.fpsolve-tmp-\(child.processIdentifier)").path
        let alive = directory.appendingPathComponent(".out.h5.fpsolve-tmp-1").path  // init is always running
        let unrelated = directory.appendingPathComponent(".notes.tmp-99999999").path
        for path in [dead, alive, unrelated] { FileManager.default.createFile(atPath: path, contents: Data()) }
        OutputTarget.removeStaleTemporaries(in: directory.path)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dead))
        XCTAssertTrue(FileManager.default.fileExists(atPath: alive))
        XCTAssertTrue(FileManager.default.fileExists(atPath: unrelated))
    }

    /// VTK's first index is X: a C-order (n0, n1, n2) array is written with axis 0 fastest.
    func testParaViewOrderPutsAxisZeroFastest() {
        let shape = [2, 3, 4]
        let values = (0..<24).map(Double.init)  // value = 12 i + 4 j + k at (i, j, k)
        let vtk = ParaViewSidecar.vtkOrder(values, shape: shape)
        for i in 0..<2 { for j in 0..<3 { for k in 0..<4 {
            XCTAssertEqual(vtk[i + 2 * (j + 3 * k)], Double(12 * i + 4 * j + k))
        } } }
        let vectors = ParaViewSidecar.vectors([[1, 2, 3, 4, 5, 6], [10, 20, 30, 40, 50, 60]], shape: [2, 3])
        // Point (i, j) = (1, 0) is VTK point 1; C index 3.
        XCTAssertEqual(Array(vectors[3..<6]), [4, 40, 0])
        XCTAssertEqual(ParaViewSidecar.combinations(of: [0, 1, 2, 3], size: 2).count, 6)
        XCTAssertEqual(ParaViewSidecar.combinations(of: [0, 1, 2, 3], size: 3).count, 4)
    }
}
