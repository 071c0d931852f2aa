import XCTest
@testable import FokkerPlanck

/// Shift-and-invert Arnoldi for the eigenvalues of M⁻¹L nearest a shift (`SlowestModes`), and the
/// evolution's growing-mode check built on it.
final class SlowestModesTests: XCTestCase {
    /// A linear model on [−5, 5]², absorbing walls on x, reflecting on y.
    private func absorbingX(drift: String, diffusion: String) throws -> Problem {
        try Problem(text: """
            [grid]
            axes = ["x", "y"]
            lower = [-5.0, -5.0]
            upper = [5.0, 5.0]
            cells = [16, 16]
            boundary = ["absorbing", "reflecting"]
            [model]
            type = "linear"
            drift_matrix = \(drift)
            diffusion    = \(diffusion)
            """)
    }

    /// The Dirichlet Laplacian (1/h²) tridiag(1, −2, 1) on n = 200 points: λ_k = −(4/h²) sin²(kπh/2).
    /// The five nearest 0 to 1e-10 relative (measured ~1e-13; the Arnoldi error estimates say
    /// they have converged).
    func testLaplacianEigenvaluesNearestZero() throws {
        let n = 200, h = 1 / Double(n + 1)
        var builder = SparseRowBuilder(rows: n, columns: n, estimatedNonzeros: 3 * n)
        for i in 0..<n {
            if i > 0 { builder.add(column: i - 1, 1 / (h * h)) }
            builder.add(column: i, -2 / (h * h))
            if i < n - 1 { builder.add(column: i + 1, 1 / (h * h)) }
            builder.endRow()
        }
        let start = (0..<n).map { 1 + 0.1 * sin(Double($0)) }
        let modes = try SlowestModes.nearest(0, generator: builder.build(), mass: nil, start: start)
        for k in 1...5 {
            let exact = -4 / (h * h) * pow(sin(Double(k) * .pi * h / 2), 2)
            XCTAssertEqual(modes[k - 1].re, exact, accuracy: 1e-10 * abs(exact), "k = \(k)")
            XCTAssertEqual(modes[k - 1].im, 0)
            XCTAssertLessThan(modes[k - 1].error, 1e-8 * abs(exact))
        }
    }

    /// The Legendre Galerkin OU of grids/ou2d-transient.toml with absorbing walls on x, against
    /// SciPy's dense QZ (scipy.linalg.eigvals(L, M) of the same matrices, dumped): at 24² modes a
    /// growing mode, +1.189900507204381e-4; at 32² all decay, the slowest −4.324936187339261e-6.
    /// Agreement to 1e-12 absolute (the dense reference's own round-off, ε‖M⁻¹L‖ ~ 1e-12 here).
    func testGalerkinGrowingModeMatchesDenseQZ() throws {
        let problem = try absorbingX(drift: "[[1.0, 0.3], [-0.4, 2.0]]", diffusion: "[[0.5, 0.2], [0.2, 0.3]]")
        let model = try XCTUnwrap(problem.model.coefficients as? LinearModel)
        for (modes, reference) in [(24, 1.189900507204381e-4), (32, -4.324936187339261e-6)] {
            let discretization = try LegendreDiscretization(model: model, grid: problem.grid, modes: [modes, modes])
            let start = (0..<discretization.stateCount).map { 1 + 0.1 * sin(Double($0)) }
            let found = try SlowestModes.nearest(0.5, generator: discretization.assemble(), mass: discretization.massMatrix(), start: start)
            // Ritz values far from the shift have not converged; their error estimates say so.
            let converged = found.filter { $0.error < 1e-6 * max(1, abs($0.re)) }
            let slowest = try XCTUnwrap(converged.max { $0.re < $1.re })
            XCTAssertEqual(slowest.re, reference, accuracy: 1e-12, "modes \(modes)")
            XCTAssertEqual(converged.filter { $0.re > 0 }.count, reference > 0 ? 1 : 0, "modes \(modes)")
        }
    }

    /// A rotating drift (A = [[0.05, 1], [−1, 0.05]], D = diag(0.5, 0.05), absorbing x, 12² Legendre
    /// modes): 12 growing eigenvalues far up the imaginary axis, the fastest 1.807858443071146 ±
    /// 11.29437667060096i (a reviewer's own numpy Galerkin matrices and SciPy's QZ). None is among
    /// the 30 Ritz values nearest a small shift — the first growing-mode check missed them and the
    /// run exited 0 with its mass at −4e33; the dense path finds all 12, to 1e-9.
    func testDenseSpectrumFindsRotatingGrowingModes() throws {
        let problem = try absorbingX(drift: "[[0.05, 1.0], [-1.0, 0.05]]", diffusion: "[[0.5, 0.0], [0.0, 0.05]]")
        let model = try XCTUnwrap(problem.model.coefficients as? LinearModel)
        let discretization = try LegendreDiscretization(model: model, grid: problem.grid, modes: [12, 12])
        let modes = try SlowestModes.all(generator: discretization.assemble(), mass: discretization.massMatrix())
        XCTAssertEqual(modes.count, discretization.stateCount)
        let growing = modes.filter { $0.re - $0.error > 0 }
        XCTAssertEqual(growing.count, 12)
        let fastest = try XCTUnwrap(growing.max { $0.re < $1.re })
        XCTAssertEqual(fastest.re, 1.807858443071146, accuracy: 1e-9)
        XCTAssertEqual(abs(fastest.im), 11.29437667060096, accuracy: 1e-9)
    }
}
