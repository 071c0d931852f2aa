import FokkerPlanck
import Foundation
import XCTest

/// Problem files decode into typed values; errors name the file, the key path and the line.
final class ProblemParsingTests: XCTestCase {
    let text = """
        title = "t"
        [grid]
        axes = ["x", "y"]
        lower = [-4, -3.5]
        upper = [4, 3]
        cells = [24, 20]
        boundary = ["periodic", "reflecting"]

        [model]
        type = "linear"
        drift_matrix = [[1, 0.3], [-0.4, 2]]
        diffusion = [[0.5, 0.2],
                     [0.2, 0.3]]
        temperature = 2
        """

    func testDecodesIntegersAsReals() throws {
        let problem = try Problem(text: text, source: "p.toml")
        XCTAssertEqual(problem.grid.shape, [24, 20])
        XCTAssertEqual(problem.grid.axes.map(\.lower), [-4, -3.5])
        XCTAssertEqual(problem.grid.axes.map(\.boundary), [.periodic, .reflecting])
        XCTAssertEqual(problem.model.temperature, 2)
        guard case let .linear(model) = problem.model else { return XCTFail() }
        XCTAssertEqual(model.driftMatrix, Matrix([[1, 0.3], [-0.4, 2]]))
        XCTAssertEqual(problem.output.file, "p.h5")
        XCTAssertEqual(problem.output.fields, OutputField.allCases)
    }

    func testErrorsNameFileKeyAndLine() {
        let bad = text.replacingOccurrences(of: "[0.2, 0.3]]", with: "[0.1, 0.3]]")
        XCTAssertThrowsError(try Problem(text: bad, source: "p.toml")) { error in
            let message = String(describing: error)
            XCTAssertTrue(message.contains("p.toml"), message)
            XCTAssertTrue(message.contains("line 12"), message)
            XCTAssertTrue(message.contains("model.diffusion[1][0]"), message)
            XCTAssertEqual((error as? FokkerPlanckError)?.exitStatus, 2)
        }
        XCTAssertThrowsError(try Problem(text: text + "\n[output]\nfeilds = []\n", source: "p.toml")) { error in
            let message = String(describing: error)
            XCTAssertTrue(message.contains("output.feilds") && message.contains("line 16") && message.contains("fields"), message)
        }
        XCTAssertThrowsError(try Problem(text: "[grid\n", source: "p.toml")) { error in
            XCTAssertTrue(String(describing: error).contains("line 1"), String(describing: error))
        }
    }

    func testOverridesCreateTablesAndAreRecorded() throws {
        let problem = try Problem(text: text, source: "p.toml",
                                  overrides: ["output.file=run.h5", "grid.cells=[30, 31]", "model.center=[1, 2]"])
        XCTAssertEqual(problem.output.file, "run.h5")
        XCTAssertEqual(problem.grid.shape, [30, 31])
        guard case let .linear(model) = problem.model else { return XCTFail() }
        XCTAssertEqual(model.center, [1, 2])
        XCTAssertTrue(problem.text.hasPrefix("# p.toml with --set output.file=run.h5"))
        // The stored text is itself a problem file with the overrides applied.
        XCTAssertEqual(try Problem(text: problem.text).grid.shape, [30, 31])
        XCTAssertThrowsError(try Problem(text: text, source: "p.toml", overrides: ["grid.cells=[2, 40]"])) { error in
            XCTAssertTrue(String(describing: error).contains("from --set"), String(describing: error))
        }
    }

    func testStationaryFeasibilityChecks() throws {
        let absorbing = try Problem(text: text.replacingOccurrences(of: "\"periodic\"", with: "\"absorbing\""))
        XCTAssertThrowsError(try absorbing.checkStationarySolvable())
        // Noise on x only, and no drift coupling x to y: y never diffuses.
        let uncoupled = try Problem(text: text.replacingOccurrences(of: "[[0.5, 0.2],\n             [0.2, 0.3]]", with: "[[0.5, 0], [0, 0]]")
            .replacingOccurrences(of: "[[1, 0.3], [-0.4, 2]]", with: "[[1, 0], [0, 2]]"))
        XCTAssertThrowsError(try uncoupled.checkStationarySolvable())
        // Noise on y only but coupled into x through the drift (phase space): fine.
        let coupled = try Problem(text: text.replacingOccurrences(of: "[[0.5, 0.2],\n             [0.2, 0.3]]", with: "[[0, 0], [0, 0.3]]"))
        XCTAssertNoThrow(try coupled.checkStationarySolvable())
        let huge = try Problem(text: text, overrides: ["grid.cells=[20000, 20000]"])
        XCTAssertThrowsError(try huge.checkStationarySolvable(memoryLimit: 24 * 1_073_741_824))
    }
}
