import FokkerPlanck
import Foundation
import XCTest

/// Issue 11: expression models, the three conventions, and the refusal of a D that is not a
/// diffusion tensor where the scheme evaluates it.
final class GeneralModelTests: XCTestCase {
    func parse(_ text: String, _ names: [String]) throws -> Formula {
        var parser = FormulaParser(variables: names)
        return try parser.parse(text)
    }

    /// The Stratonovich correction of a non-diagonal D(z) (the symmetric root's derivative, from
    /// the Sylvester equation in the eigenbasis) against central differences of the symmetric root
    /// itself, computed by eigen-decomposition at z ± h — two routes to ½ Σ_k (∂_kσ σ)_ik.
    func testStratonovichCorrectionOfTheSymmetricRoot() throws {
        let names = ["x", "y"]
        let entries = try [["1 + 0.5*sin(x)", "0.3*cos(x + y)"], ["0.3*cos(x + y)", "1 + 0.4*cos(y)*x^2"]]
            .flatMap { try $0.map { try parse($0, names) } }
        let zero = [Formula.number(0), .number(0)]
        let strat = GeneralModel(drift: zero, diffusion: entries, convention: .stratonovich)
        func root(_ z: [Double]) throws -> Matrix {
            let a = Matrix(rows: 2, columns: 2, elements: entries.map { 2 * $0.evaluate(z) })
            let (values, q) = try a.symmetricEigen()
            var s = Matrix(rows: 2, columns: 2)
            for i in 0..<2 { for j in 0..<2 { s[i, j] = (0..<2).reduce(0) { $0 + q[i, $1] * values[$1].squareRoot() * q[j, $1] } } }
            return s
        }
        for z in [[0.3, -0.7], [1.1, 0.4], [-1.5, 2.0]] {
            let sigma = try root(z)
            var expected = [0.0, 0.0]
            let h = 1e-5
            for k in 0..<2 {
                var plus = z, minus = z
                plus[k] += h; minus[k] -= h
                let derivative = (try root(plus) - root(minus)).elements.map { $0 / (2 * h) }
                for i in 0..<2 { for j in 0..<2 { expected[i] += 0.5 * derivative[i * 2 + j] * sigma[j, k] } }
            }
            let computed = strat.drift(at: z)
            // Central differences of a smooth root: error ~h² · |∂³σ| ≈ 1e-10.
            for i in 0..<2 { XCTAssertEqual(computed[i], expected[i], accuracy: 1e-8, "z = \(z)") }
            XCTAssertFalse(strat.hasAffineDrift)
        }
    }

    /// With D diagonal or with the amplitude σ given, the conversions are symbolic: ½∂_i D_ii and
    /// ½ Σ σ_kj ∂_k σ_ij; the isothermal one is Σ_j ∂_j D_ij.
    func testSymbolicConversions() throws {
        let names = ["x", "y"]
        let drift = try ["-x", "-y"].map { try parse($0, names) }
        let diagonal = try [["1 + x^2", "0"], ["0", "2 + sin(y)"]].flatMap { try $0.map { try parse($0, names) } }
        let z = [0.7, -0.3]
        let s = GeneralModel(drift: drift, diffusion: diagonal, convention: .stratonovich).drift(at: z)
        XCTAssertEqual(s[0], -0.7 + 0.5 * 2 * 0.7, accuracy: 1e-15)
        XCTAssertEqual(s[1], 0.3 + 0.5 * cos(-0.3), accuracy: 1e-15)
        let full = try [["1 + x^2", "x*y"], ["x*y", "2 + y^2"]].flatMap { try $0.map { try parse($0, names) } }
        let hk = GeneralModel(drift: drift, diffusion: full, convention: .isothermal).drift(at: z)
        // ∇·D row-wise: (2x + x, y + 2y).
        XCTAssertEqual(hk[0], -0.7 + 3 * 0.7, accuracy: 1e-15)
        XCTAssertEqual(hk[1], 0.3 + 3 * -0.3, accuracy: 1e-15)
        // σ = [[x, 1], [0, y]] (2×2, not symmetric): D = ½σσᵀ, correction ½ Σ_k Σ_j σ_kj ∂_k σ_ij
        // = (½ σ_00 · 1, ½ σ_11 · 1) = (x/2, y/2).
        let amplitude = try [["x", "1"], ["0", "y"]].flatMap { try $0.map { try parse($0, names) } }
        let model = GeneralModel(drift: drift, diffusion: nil, amplitude: amplitude, amplitudeColumns: 2, convention: .stratonovich)
        let mu = model.drift(at: z)
        XCTAssertEqual(mu[0], -0.7 + 0.35, accuracy: 1e-15)
        XCTAssertEqual(mu[1], 0.3 - 0.15, accuracy: 1e-15)
        XCTAssertEqual(model.diffusion(at: z).elements, [0.5 * (0.49 + 1), 0.5 * -0.3, 0.5 * -0.3, 0.5 * 0.09], accuracy: 1e-15)
        // Itô leaves the drift alone.
        XCTAssertEqual(GeneralModel(drift: drift, diffusion: full, convention: .ito).drift(at: z), [-0.7, 0.3])
    }

    /// An indefinite D somewhere in the box is refused, naming the key and the first point; a D
    /// that is PSD everywhere (also singular on a line) is accepted.
    func testIndefiniteDiffusionIsRefusedWithThePoint() throws {
        let template = """
            [grid]
            axes = ["x", "y"]
            lower = [-2, -2]
            upper = [2, 2]
            cells = [20, 20]
            [model]
            type = "general"
            drift = ["-x", "-y"]
            diffusion = [["1", "OFF"], ["OFF", "1"]]
            """
        XCTAssertNoThrow(try Problem(text: template.replacingOccurrences(of: "OFF", with: "0.5*cos(x)"), source: "g.toml"))
        // |0.5 x| ≤ 1 on the box (minor 1 − x²/4 = 0 only at the walls, which carry no flux).
        XCTAssertNoThrow(try Problem(text: template.replacingOccurrences(of: "OFF", with: "0.5*x"), source: "g.toml"))
        XCTAssertThrowsError(try Problem(text: template.replacingOccurrences(of: "OFF", with: "0.6*x"), source: "g.toml")) { error in
            let message = String(describing: error)
            XCTAssertTrue(message.contains("model.diffusion"), message)
            XCTAssertTrue(message.contains("positive semi-definite"), message)
            // The first cell centre: reflecting walls are not evaluation points.
            XCTAssertTrue(message.contains("x = -1.9"), message)
            XCTAssertEqual((error as? FokkerPlanckError)?.exitStatus, 2)
        }
        XCTAssertThrowsError(try Problem(text: template.replacingOccurrences(of: "OFF", with: "log(x + 1.85)"), source: "g.toml")) { error in
            XCTAssertTrue(String(describing: error).contains("model.diffusion[0][1]"), String(describing: error))
        }
        XCTAssertThrowsError(try Problem(text: template.replacingOccurrences(of: "\"1\", \"OFF\"", with: "\"1\", \"0.1\"")
            .replacingOccurrences(of: "\"OFF\", \"1\"", with: "\"0.2\", \"1\""), source: "g.toml")) { error in
            XCTAssertTrue(String(describing: error).contains("symmetric"), String(describing: error))
        }
        // A validation study's finer grid is checked as well (the wall points move with the cells).
        let problem = try Problem(text: template.replacingOccurrences(of: "OFF", with: "0.5*x"), source: "g.toml")
        XCTAssertNoThrow(try problem.discretization(on: problem.grid.withCells([40, 40])))
    }

    /// `sgd` with a Hessian and constant D is the Ornstein–Uhlenbeck process A = H, β⁻¹D, and the
    /// temperature defaults to β⁻¹; with a loss expression it is a general model μ = −∇f.
    func testSGDModelForms() throws {
        let quadratic = """
            [grid]
            lower = [-1, -1]
            upper = [1, 1]
            cells = [10, 10]
            [model]
            type = "sgd"
            hessian = [[2, 0], [0, 1]]
            diffusion = [[1, 0.4], [0.4, 0.5]]
            learning_rate = 0.2
            batch_size = 2
            """
        let problem = try Problem(text: quadratic, source: "s.toml")
        let linear = try XCTUnwrap(problem.model.linearModel)
        XCTAssertEqual(linear.diffusionMatrix.elements, [0.05, 0.02, 0.02, 0.025], accuracy: 1e-17)
        XCTAssertEqual(problem.model.temperature, 0.05, accuracy: 1e-17)
        XCTAssertEqual(problem.model.typeName, "sgd")
        let loss = try Problem(text: quadratic.replacingOccurrences(of: "hessian = [[2, 0], [0, 1]]", with: "loss = \"x0^4/4 + x1^2\""), source: "s.toml")
        XCTAssertNil(loss.model.linearModel)
        XCTAssertEqual(loss.model.coefficients.drift(at: [0.5, -1]), [-0.125, 2], accuracy: 1e-15)
        XCTAssertThrowsError(try Problem(text: quadratic.replacingOccurrences(of: "type = \"sgd\"", with: "type = \"sgd\"\nloss = \"x0^2\""), source: "s.toml")) { error in
            XCTAssertTrue(String(describing: error).contains("not both"), String(describing: error))
        }
        XCTAssertThrowsError(try Problem(text: quadratic + "\nconvention = \"ito-ish\"", source: "s.toml")) { error in
            XCTAssertTrue(String(describing: error).contains("model.convention"), String(describing: error))
        }
    }
}

private func XCTAssertEqual(_ a: [Double], _ b: [Double], accuracy: Double, _ message: String = "", file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, file: file, line: line)
    for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: accuracy, message, file: file, line: line) }
}

/// The compiled evaluator is the tree walk without the boxes: the same operations in the same
/// order, so the same bits, on every function and operator of the language.
final class CompiledFormulaTests: XCTestCase {
    func testCompiledEqualsTreeBitwise() throws {
        let names = ["x", "y", "z"]
        let texts = ["1.5", "y", "-x^2 + 3*y - z/2", "exp(-x^2/2)*sin(3*y) + cos(x*y)^2", "(x - 1)^3 / (1 + y^2) ^ 0.5",
                     "sqrt(abs(x)) + log(1 + y^2) - tan(z/4) + atan(x - y) + tanh(z) + erf(x)",
                     "min(x, y) * max(y, z) - min(max(x, 0.1), 2)", "2^x + x^y",
                     // Repeated subexpressions (computed once by the compiled program): the same bits.
                     "sin(x + y)*cos(x + y) + sin(x + y)^2 - exp(sin(x + y)) / (1 + (x*x)*(x*x))"]
        var parser = FormulaParser(variables: names)
        for text in texts {
            let formula = try parser.parse(text)
            let compiled = CompiledFormula(formula)
            for point in [[0.3, -0.7, 1.1], [1.7, 0.2, -2.5], [-0.4, 1.3, 0.6]] {
                let tree = formula.evaluate(point), flat = compiled.evaluate(point)
                XCTAssertTrue(tree.bitPattern == flat.bitPattern || (tree.isNaN && flat.isNaN), "\(text) at \(point): \(tree) vs \(flat)")
            }
            // And the symbolic derivatives (sign, step, quotients) compile as well.
            for k in 0..<3 {
                let derivative = formula.derivative(k)
                let point = [0.45, -1.2, 0.8]
                XCTAssertEqual(derivative.evaluate(point).bitPattern, CompiledFormula(derivative).evaluate(point).bitPattern, "∂_\(k) \(text)")
            }
        }
    }
}
