import XCTest
@testable import FokkerPlanck

/// The least-squares gradient covariance Σ + Q[e, e] from the data's moments.
final class LeastSquaresNoiseTests: XCTestCase {
    let h = Matrix([[1.65, 0.63], [0.63, 0.85]])

    func testGaussianDataGiveIsserlis() {
        let noise = LeastSquaresNoise(hessian: h, atMinimum: Matrix([[1.0, 0.2], [0.2, 0.5]]))
        let e = [0.3, -0.7]
        let he = h * e
        let form = zip(e, he).reduce(0) { $0 + $1.0 * $1.1 }
        let sigma = noise.covariance(at: e)
        for i in 0..<2 { for j in 0..<2 {
            // Σ + H e eᵀ H + (eᵀHe) H, summed in another order: a few ulps.
            let expected = [[1.0, 0.2], [0.2, 0.5]][i][j] + he[i] * he[j] + form * h[i, j]
            XCTAssertEqual(sigma[i, j], expected, accuracy: 1e-14)
        } }
        // The expression form evaluates to the same.
        let formulas = noise.formulas([.variable(0, "a"), .variable(1, "b")])
        for k in 0..<4 { XCTAssertEqual(formulas[k].evaluate(e), sigma.elements[k], accuracy: 1e-14) }
        // E[Σ] for W = E[eeᵀ] = eeᵀ is Σ(e).
        let w = Matrix([[e[0] * e[0], e[0] * e[1]], [e[1] * e[0], e[1] * e[1]]])
        XCTAssertLessThan((noise.expected(secondMoment: w) - sigma).maxAbs, 1e-14)
    }

    func testFourthMomentsAreChecked() {
        let h1 = Matrix([[2.0]])
        // Laplace inputs (E[x⁴] = 6h²) are data; E[x⁴] < h² is not (Var x² < 0).
        XCTAssertNil(LeastSquaresNoise.problem(fourthMoment: Matrix([[24.0]]), hessian: h1))
        XCTAssertNotNil(LeastSquaresNoise.problem(fourthMoment: Matrix([[3.0]]), hessian: h1))
        // p = 2: Isserlis' tensor passes; breaking one permutation symmetry does not.
        var t = Matrix(rows: 4, columns: 4)
        for i in 0..<2 { for j in 0..<2 { for k in 0..<2 { for l in 0..<2 {
            t[i * 2 + j, k * 2 + l] = h[i, j] * h[k, l] + h[i, k] * h[j, l] + h[i, l] * h[j, k]
        } } } }
        XCTAssertNil(LeastSquaresNoise.problem(fourthMoment: t, hessian: h))
        var broken = t
        broken[0, 3] += 0.1
        XCTAssertNotNil(LeastSquaresNoise.problem(fourthMoment: broken, hessian: h))
        // 1-d: Σ(e) = σ² + (E[x⁴] − h²) e².
        let laplace = LeastSquaresNoise(hessian: h1, atMinimum: Matrix([[2.0]]), fourthMoment: Matrix([[24.0]]))
        XCTAssertEqual(laplace.covariance(at: [0.5])[0, 0], 2 + 20 * 0.25, accuracy: 1e-14)
    }

    func testSGDDecodingOfTheStateDependentNoise() {
        func problem(_ model: String) -> String {
            """
            [model]
            type = "sgd"
            learning_rate = 0.1
            batch_size = 4
            diffusion = [[1.0]]
            \(model)
            [grid]
            axes = ["z"]
            lower = [-1.5]
            upper = [1.5]
            cells = [50]
            """
        }
        XCTAssertNoThrow(try Problem(text: problem("hessian = [[2.0]]\nnoise = \"state-dependent\"\nfourth_moment = [[24.0]]")))
        // The noise of least squares needs the quadratic loss, and fourth_moment needs that noise.
        XCTAssertThrowsError(try Problem(text: problem("loss = \"z^2\"\nnoise = \"state-dependent\"")))
        XCTAssertThrowsError(try Problem(text: problem("hessian = [[2.0]]\nfourth_moment = [[24.0]]")))
        XCTAssertThrowsError(try Problem(text: problem("hessian = [[2.0]]\nnoise = \"state-dependent\"\nfourth_moment = [[3.0]]")))
    }
}
