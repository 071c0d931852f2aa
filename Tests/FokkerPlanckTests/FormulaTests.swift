import FokkerPlanck
import Foundation
import XCTest

/// The expression language of problem files (SPEC §3) and its symbolic derivatives.
final class FormulaTests: XCTestCase {
    func parse(_ text: String, _ variables: [String] = ["x", "y"], _ parameters: [String: Double] = ["a": 0.25]) throws -> Formula {
        var parser = FormulaParser(variables: variables, parameters: parameters)
        return try parser.parse(text)
    }

    func testPrecedenceAndFunctions() throws {
        let point = [0.7, -1.3]
        let cases: [(String, Double)] = [
            ("1 + 2 * 3", 7), ("-x^2", -0.49), ("2^3^2", 512), ("(1 + 2) * 3", 9), ("a * x", 0.175),
            ("x / y / 2", 0.7 / -1.3 / 2), ("exp(log(3))", 3), ("sqrt(4) + abs(y)", 3.3), ("min(x, y) + max(x, y)", -0.6),
            ("tanh(0) + erf(0) + sin(0) + cos(0) + tan(0)", 1), ("1.5e-1 * 2E1", 3), ("pi", Double.pi),
        ]
        for (text, expected) in cases {
            XCTAssertEqual(try parse(text).evaluate(point), expected, accuracy: 1e-13, text)
        }
    }

    /// Symbolic derivatives against centred differences (error ~ h² f‴ ≈ 1e-9 at h = 1e-5).
    func testDerivativesMatchFiniteDifferences() throws {
        let texts = ["a*x^4 - x^2 + x*y", "exp(-x^2/2) * sin(3*y)", "log(1 + x^2) / (2 + cos(y))", "sqrt(1 + x^2 + y^2)",
                     "tanh(x*y) + erf(x) + abs(x - 2)", "x^y", "min(x^2, y^2) + max(x, 0.1)", "tan(x/3)"]
        let point = [0.7, 1.3]
        for text in texts {
            let e = try parse(text)
            for i in 0..<2 {
                var plus = point, minus = point
                plus[i] += 1e-5; minus[i] -= 1e-5
                let numeric = (e.evaluate(plus) - e.evaluate(minus)) / 2e-5
                XCTAssertEqual(e.derivative(i).evaluate(point), numeric, accuracy: 1e-7 * max(1, abs(numeric)), "\(text) ∂\(i)")
            }
        }
    }

    func testErrorsNameTheProblem() {
        XCTAssertThrowsError(try parse("x + z")) { XCTAssertTrue(String(describing: $0).contains("unknown name 'z'")) }
        XCTAssertThrowsError(try parse("foo(x)")) { XCTAssertTrue(String(describing: $0).contains("unknown function 'foo'")) }
        XCTAssertThrowsError(try parse("(x + 1")) { XCTAssertTrue(String(describing: $0).contains("missing ')'")) }
        XCTAssertThrowsError(try parse("x * ")) { XCTAssertTrue(String(describing: $0).contains("ends too early")) }
        XCTAssertThrowsError(try parse("min(x)")) { XCTAssertTrue(String(describing: $0).contains("2 arguments")) }
        XCTAssertThrowsError(try parse("x $ y")) { XCTAssertTrue(String(describing: $0).contains("unexpected '$'")) }
    }

    func testLangevinProblemAndBadExpressions() throws {
        let text = """
            [parameters]
            a = 0.25
            [grid]
            lower = [-3, -4]
            upper = [3, 4]
            cells = [20, 20]
            [model]
            type = "langevin"
            potential = "a*x^4 - x^2"
            friction = 0.8
            temperature = 0.5
            """
        let problem = try Problem(text: text, source: "l.toml")
        XCTAssertEqual(problem.grid.axes.map(\.name), ["x", "v"])
        guard case let .langevin(model) = problem.model else { return XCTFail() }
        // μ = (v, −(γ v + U′)/m) at (x, v) = (1, 2): U′(1) = 4a − 2 = −1.
        XCTAssertEqual(model.drift(at: [1, 2]), [2, -(0.8 * 2 - 1)])
        XCTAssertEqual(model.diffusion(at: [0, 0])[1, 1], 0.8 * 0.5)
        for (bad, mention) in [("a*x^4 - y^2", "unknown name 'y'"), ("a*x^4 -", "ends too early")] {
            XCTAssertThrowsError(try Problem(text: text.replacingOccurrences(of: "a*x^4 - x^2", with: bad), source: "l.toml")) { error in
                let message = String(describing: error)
                XCTAssertTrue(message.contains(mention) && message.contains("model.potential") && message.contains("line 9"), message)
                XCTAssertEqual((error as? FokkerPlanckError)?.exitStatus, 2)
            }
        }
    }
}
