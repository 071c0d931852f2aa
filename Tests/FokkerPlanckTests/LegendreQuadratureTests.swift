import XCTest
@testable import FokkerPlanck

/// The Legendre Galerkin of expression models (`LegendreQuadrature`): on a linear model written as
/// expressions its quadrature operator is the banded Kronecker one (the integrand is a polynomial,
/// which 2n + 16 Gauss nodes integrate exactly), its Ψ = 1 row is exactly zero, and a D that is
/// not positive definite on the box is refused.
final class LegendreQuadratureTests: XCTestCase {
    func grid(_ boundary: String = "reflecting") throws -> Grid {
        try Problem(text: """
            [model]
            type = "linear"
            drift_matrix = [[1.0, 0.0], [0.0, 1.0]]
            diffusion = [[1.0, 0.0], [0.0, 1.0]]
            [grid]
            axes = ["x", "y"]
            lower = [-2.0, -1.5]
            upper = [2.5, 1.5]
            cells = [10, 10]
            boundary = ["\(boundary)", "\(boundary)"]
            """).grid
    }

    func testQuadratureOperatorIsTheKroneckerOneOnALinearModel() throws {
        // Non-normal A, full D, an off-centre mean: every term of the banded assembly is used.
        let a = Matrix([[1.2, 0.7], [-0.4, 0.9]]), d = Matrix([[0.8, 0.3], [0.3, 0.5]]), centre = [0.3, -0.2]
        let linear = LinearModel(driftMatrix: a, diffusion: d, center: centre)
        let names = ["x", "y"]
        let drift: [Formula] = (0..<2).map { i in
            (0..<2).reduce(Formula.number(0)) { s, j in .sum(s, .product(.number(-a[i, j]), .subtract(.variable(j, names[j]), .number(centre[j])))) }
        }
        let general = GeneralModel(drift: drift, diffusion: d.elements.map { .number($0) })
        for boundary in ["reflecting", "absorbing"] {
            let g = try grid(boundary)
            let banded = try LegendreDiscretization(model: linear, grid: g, modes: [9, 7]).assemble()
            let quadrature = try LegendreDiscretization(general: general, grid: g, modes: [9, 7]).assemble()
            var worst = 0.0, largest = 0.0
            for i in 0..<banded.rows { for j in 0..<banded.columns {
                worst = max(worst, abs(banded[i, j] - quadrature[i, j]))
                largest = max(largest, abs(banded[i, j]))
            } }
            // Both exact integrals of the same polynomials: round-off of sums of ~100 terms.
            XCTAssertLessThan(worst, 1e-12 * largest, boundary)
        }
    }

    func testConstantTestFunctionRowIsZeroWithStateDependentD() throws {
        let names = ["x", "y"]
        let x = Formula.variable(0, names[0]), y = Formula.variable(1, names[1])
        let drift: [Formula] = [.negated(x), .sum(.negated(y), .product(.number(0.5), x))]
        let d: [Formula] = [.sum(.number(1), .product(x, x)), .product(.number(0.2), .product(x, y)),
                            .product(.number(0.2), .product(x, y)), .sum(.number(0.5), .product(y, y))]
        let discretization = try LegendreDiscretization(general: GeneralModel(drift: drift, diffusion: d), grid: try grid(), modes: [8, 8])
        let l = discretization.assemble()
        // Row 0 is Ψ = φ₀ ⊗ φ₀, a constant: ∇Ψ = 0, so the row is exactly zero (mass conserved).
        for j in 0..<l.columns { XCTAssertEqual(l[0, j], 0) }
    }

    func testIndefiniteDiffusionIsRefused() throws {
        let names = ["x", "y"]
        let x = Formula.variable(0, names[0])
        // D₁₁ = 1 − x² turns negative inside the box (|x| > 1).
        let d: [Formula] = [.subtract(.number(1), .product(x, x)), .number(0), .number(0), .number(1)]
        let drift: [Formula] = [.negated(x), .negated(.variable(1, names[1]))]
        XCTAssertThrowsError(try LegendreDiscretization(general: GeneralModel(drift: drift, diffusion: d), grid: try grid(), modes: [8, 8]))
        // And three axes are refused (the dense operator is for 1-d and 2-d).
        let three = GeneralModel(drift: [.number(0), .number(0), .number(0)], diffusion: [Formula](repeating: .number(0), count: 9))
        let grid3 = try Problem(text: """
            [model]
            type = "linear"
            drift_matrix = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
            diffusion = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
            [grid]
            lower = [-1.0, -1.0, -1.0]
            upper = [1.0, 1.0, 1.0]
            cells = [4, 4, 4]
            """).grid
        XCTAssertThrowsError(try LegendreDiscretization(general: three, grid: grid3, modes: [4, 4, 4]))
    }

    /// A Fourier axis: on constant coefficients each wave is an eigenfunction, so the operator's
    /// column of cos(ω(z − lower)) is M(−Dω² cos + cω sin) exactly (ω = kπ/half, M = diag(2, 1, 1, …)
    /// in ξ) — signs, the ξ ↔ z scaling and the trapezoid quadrature at once.
    func testFourierAxisWavesAreEigenfunctionsOnConstantCoefficients() throws {
        let c = 0.7, d = 0.45, lower = 0.5, length = 3.0
        let grid = try Problem(text: """
            [model]
            type = "general"
            drift = ["\(c)"]
            diffusion = [[\(d)]]
            [grid]
            axes = ["x"]
            lower = [\(lower)]
            upper = [\(lower + length)]
            cells = [16]
            boundary = ["periodic"]
            """).grid
        let model = GeneralModel(drift: [.number(c)], diffusion: [.number(d)])
        let l = try LegendreDiscretization(general: model, grid: grid, modes: [9], basis: ["fourier"]).assemble()
        XCTAssertEqual(l.rows, 9)
        var expected = [[Double]](repeating: [Double](repeating: 0, count: 9), count: 9)
        for k in 1...4 {
            let omega = Double(k) * Double.pi / (0.5 * length), cosine = 2 * k - 1, sine = 2 * k
            expected[cosine][cosine] = -d * omega * omega
            expected[sine][cosine] = c * omega
            expected[sine][sine] = -d * omega * omega
            expected[cosine][sine] = -c * omega
        }
        for i in 0..<9 { for j in 0..<9 {
            // Trapezoid sums of trigonometric polynomials, exact up to round-off of ~50 terms.
            XCTAssertEqual(l[i, j], expected[i][j], accuracy: 1e-13 * 20, "(\(i), \(j))")
        } }
    }

    /// Each basis goes with its boundary: fourier with periodic axes, legendre with walls; a linear
    /// drift (not periodic) takes no fourier axis.
    func testBasesAndBoundariesAreMatched() throws {
        let names = ["x", "y"]
        let drift: [Formula] = [.call(.sin, [.variable(0, names[0])]), .negated(.variable(1, names[1]))]
        let model = GeneralModel(drift: drift, diffusion: [.number(1), .number(0), .number(0), .number(1)])
        let walls = try grid()
        XCTAssertThrowsError(try LegendreDiscretization(general: model, grid: walls, modes: [9, 9], basis: ["fourier", "legendre"]))
        let cylinder = try Problem(text: """
            [model]
            type = "general"
            drift = ["sin(x)", "-y"]
            diffusion = [[1.0, 0.0], [0.0, 1.0]]
            [grid]
            axes = ["x", "y"]
            lower = [0.0, -2.0]
            upper = [6.283185307179586, 2.0]
            cells = [8, 8]
            boundary = ["periodic", "reflecting"]
            """)
        XCTAssertThrowsError(try LegendreDiscretization(general: model, grid: cylinder.grid, modes: [9, 9], basis: ["legendre", "legendre"]))
        let both = try LegendreDiscretization(general: model, grid: cylinder.grid, modes: [9, 9], basis: ["fourier", "legendre"])
        XCTAssertEqual(both.spectralRecord?.basis, ["fourier", "legendre"])
        let l = both.assemble()
        for j in 0..<l.columns { XCTAssertEqual(l[0, j], 0) }
    }

    /// A general model (D = 1 unless given) on the periodic [0, 2π), 256 output cells.
    private func ring(drift: String, diffusion: String = "1.0") throws -> Problem {
        try Problem(text: """
            [model]
            type = "general"
            drift = ["\(drift)"]
            diffusion = [[\(diffusion)]]
            [grid]
            axes = ["x"]
            lower = [0.0]
            upper = [6.283185307179586]
            cells = [256]
            boundary = ["periodic"]
            """)
    }

    /// The all-fourier tail estimate on a density with a symmetry: e^{−2cos 3x} has only every third
    /// wavenumber, so the top band can be empty — an estimate from the top two bands alone said ε
    /// where the error was 0.13 (review). Read along the wavenumbers present (k = 0, 3, 6, …) it is
    /// never below the true error here (measured 2.1–3.5× above). And where the basis holds the
    /// density, the residual in twice the modes sizes the error sharply: within a factor 2 of
    /// the truth either way (measured 1.03–1.08×; on the validation cases 0.86–1.01×).
    func testFourierEstimateIsNotFooledByASymmetry() throws {
        let problem = try ring(drift: "6*sin(3*x)")
        let grid = problem.grid
        let unnormalised = grid.sample { exp(-2 * cos(3 * $0[0])) }
        let mass = grid.integrate(unnormalised)
        let exact = unnormalised.map { $0 / mass }
        let solver = StationarySolver()
        for modes in [17, 23, 29, 35] {
            let discretization = try LegendreDiscretization(general: try XCTUnwrap(problem.model.coefficients as? GeneralModel),
                                                            grid: grid, modes: [modes], basis: ["fourier"])
            let solution = try solver.solve(discretization)
            let estimate = try XCTUnwrap(try solver.estimateError(of: solution))
            let truth = grid.integrate(zip(solution.density, exact).map { abs($0 - $1) }) / grid.integrate(solution.density.map(abs))
            XCTAssertGreaterThan(estimate.density, truth, "modes \(modes)")
            // Pessimistic, not useless: within 30× (measured ≤ 3.5×).
            XCTAssertLessThan(estimate.density, 30 * truth, "modes \(modes)")
            let residual = try XCTUnwrap(discretization.unresolvedResidual(of: solution.state))
            XCTAssertGreaterThan(residual.density, 0.5 * truth, "modes \(modes)")
            XCTAssertLessThan(residual.density, 2 * truth, "modes \(modes)")
        }
    }

    /// Content beyond the modes: e^{cos 11x} has wavenumbers 0, 11, 22, … only, so at 17 modes
    /// (K = 8) the Galerkin solution is the constant; its tail is zero and the half-mode run agrees,
    /// and the estimate said 9e-15 against a true 0.58. The residual in twice the modes sees what
    /// is missing (measured 1.1× the truth in ρ, 1.1× in the x variance), in 1-d and with a
    /// resolved second axis beside it.
    func testResidualSeesContentBeyondTheModes() throws {
        // 1-d; beside a resolved fourier axis (ρ ∝ e^{cos 11x + cos y}); flat along a legendre axis
        // (measured 1.1× there too: its 1 and quadratic bubble, not orthogonal, are coupled in δ).
        for (label, basis) in [("1-d", ["fourier"]), ("torus", ["fourier", "fourier"]), ("cylinder", ["fourier", "legendre"])] {
            let twoD = basis.count == 2, torus = label == "torus"
            let problem = twoD ? try Problem(text: """
                [model]
                type = "general"
                drift = ["-11*sin(11*x)", "\(torus ? "-sin(y)" : "0")"]
                diffusion = [[1.0, 0.0], [0.0, 1.0]]
                [grid]
                axes = ["x", "y"]
                lower = [0.0, \(torus ? "0.0" : "-1.0")]
                upper = [6.283185307179586, \(torus ? "6.283185307179586" : "1.0")]
                cells = [128, 64]
                boundary = ["periodic", "\(torus ? "periodic" : "reflecting")"]
                """) : try ring(drift: "-11*sin(11*x)")
            let grid = problem.grid
            let unnormalised = grid.sample { exp(cos(11 * $0[0]) + (torus ? cos($0[1]) : 0)) }
            let mass = grid.integrate(unnormalised)
            let exact = unnormalised.map { $0 / mass }
            let modes = twoD ? [17, 9] : [17]
            let discretization = try LegendreDiscretization(general: try XCTUnwrap(problem.model.coefficients as? GeneralModel),
                                                            grid: grid, modes: modes, basis: basis)
            let solver = StationarySolver()
            let solution = try solver.solve(discretization)
            let estimate = try XCTUnwrap(try solver.estimateError(of: solution))
            let truth = grid.integrate(zip(solution.density, exact).map { abs($0 - $1) }) / grid.integrate(solution.density.map(abs))
            XCTAssertGreaterThan(truth, 0.5, "the case must be unresolved to test anything")
            XCTAssertGreaterThan(estimate.density, 0.8 * truth, label)
            XCTAssertLessThan(estimate.density, 3 * truth, label)  // measured 1.1×
            XCTAssertTrue(estimate.comparison.contains("residual"), estimate.comparison)
            // The x variance of the truth differs from the constant's (π²/3) by ∫(x − π)² cos-part.
            var centre = [Double](repeating: 0, count: grid.dimension)
            var second = 0.0
            for c in 0..<grid.cellCount { grid.centre(c, into: &centre); second += exact[c] * (centre[0] - .pi) * (centre[0] - .pi) }
            let varianceError = abs(second * grid.cellVolume - Double.pi * Double.pi / 3)
            XCTAssertGreaterThan(estimate.covariance, 0.8 * varianceError)
        }
    }

    /// A strong drift at the added wavenumbers (review): drift −16.32 + 4.067 sin x + 2.422 cos 2x,
    /// D = 0.02376, 13 modes. The diffusive diagonal alone put the residual's correction at 1.45e-2
    /// against a true 1.53e-4 (a false warning); with the cos/sin couplings it is 1.48e-4. The truth
    /// here is against 61 modes (whose own error is far below the 13-mode one).
    func testResidualBlocksHoldAStrongDrift() throws {
        let problem = try ring(drift: "-16.32 + 4.067*sin(x) + 2.422*cos(2*x)", diffusion: "0.02376")
        let model = try XCTUnwrap(problem.model.coefficients as? GeneralModel)
        let solver = StationarySolver()
        let reference = try solver.solve(try LegendreDiscretization(general: model, grid: problem.grid, modes: [61], basis: ["fourier"]))
        let discretization = try LegendreDiscretization(general: model, grid: problem.grid, modes: [13], basis: ["fourier"])
        let solution = try solver.solve(discretization)
        let truth = ErrorEstimate.relativeL1(reference.density, solution.density)
        let residual = try XCTUnwrap(discretization.unresolvedResidual(of: solution.state))
        XCTAssertGreaterThan(residual.density, 0.5 * truth)
        XCTAssertLessThan(residual.density, 2 * truth)  // measured 0.97×
        let estimate = try XCTUnwrap(try solver.estimateError(of: solution))
        XCTAssertLessThan(estimate.density, 0.01, "no false warning")
    }

    /// Wells behind high barriers (review): drift −2.062 − 7.42 sin 11.31x − 2x, D = 0.06 on [−1, 1],
    /// 48 legendre modes. The expansion looks converged (tail 5.7e-3) with the peak in the wrong
    /// well — true error 2.0 against ρ ∝ e^{−U/D}. The stationary problem is ill-conditioned (an
    /// exponentially small gap), so a small residual moves mass between wells; the correction's
    /// part in the functions the basis holds (through the solve's factorization) carries that:
    /// the estimate is 2.0e-2, above the threshold, where it was 5.7e-3 and silent. (Still 100×
    /// below the truth: the first-order correction, not the truth, is what it sizes.)
    func testIllConditionedWellsAreNotSilent() throws {
        let problem = try Problem(text: """
            [model]
            type = "general"
            drift = ["-2.062 - 7.42*sin(11.31*x) - 2*x"]
            diffusion = [[0.06]]
            [grid]
            axes = ["x"]
            lower = [-1.0]
            upper = [1.0]
            cells = [1500]
            boundary = ["reflecting"]
            """)
        let grid = problem.grid
        let potential = { (x: Double) in 2.062 * x - 7.42 / 11.31 * cos(11.31 * x) + x * x }
        let unnormalised = grid.sample { exp(-potential($0[0]) / 0.06) }
        let mass = grid.integrate(unnormalised)
        let exact = unnormalised.map { $0 / mass }
        let solver = StationarySolver()
        let discretization = try LegendreDiscretization(general: try XCTUnwrap(problem.model.coefficients as? GeneralModel), grid: grid, modes: [48])
        let solution = try solver.solve(discretization)
        let truth = grid.integrate(zip(solution.density, exact).map { abs($0 - $1) }) / grid.integrate(solution.density.map(abs))
        XCTAssertGreaterThan(truth, 1, "the case must be wrong to test anything")
        let estimate = try XCTUnwrap(try solver.estimateError(of: solution))
        XCTAssertGreaterThan(estimate.density, solver.errorThreshold, "a wrong answer must not pass silently")
    }
}
