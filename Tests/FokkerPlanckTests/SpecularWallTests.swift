import XCTest
@testable import FokkerPlanck

/// Issue 9: specular walls for the position axes of phase-space models. A particle that reaches
/// the wall comes back with its velocity reversed, so the Boltzmann density cut off by the walls
/// stays exactly stationary — which a zero-flux wall does not reproduce at any resolution.
final class SpecularWallTests: XCTestCase {
    func harmonicBox(_ boundary: String = "specular", cells: Int, velocityCells: Int? = nil) throws -> (Problem, LangevinModel) {
        let problem = try Problem(contentsOf: validationProblem("langevin-specular.toml"),
                                  overrides: ["grid.cells=[\(cells), \(velocityCells ?? cells)]", "grid.boundary=[\"\(boundary)\", \"reflecting\"]"])
        guard case let .langevin(model) = problem.model else { throw XCTSkip("not a langevin problem") }
        return (problem, model)
    }

    /// The current (v ρ, −U′ρ/m) against the cut-off Boltzmann density's, relative L1, at second
    /// order (the wall's one-sided face value is second order; the interior transport third).
    func testSpecularWallKeepsTheCutOffBoltzmannDensity() throws {
        var errors: [Double] = []
        for n in [64, 128, 256] {
            let (problem, model) = try harmonicBox(cells: n)
            let grid = problem.grid
            let solution = try StationarySolver().solve(FiniteVolumeScheme(grid: grid, model: model))
            XCTAssertEqual(grid.integrate(solution.density), 1, accuracy: 1e-12)
            let exact = LangevinBoltzmann(model: model, box: grid)
            let currents = solution.discretization.currents(of: solution.state)
            var difference = [Double](repeating: 0, count: grid.cellCount), size = difference
            var z = [0.0, 0.0]
            for c in 0..<grid.cellCount {
                grid.centre(c, into: &z)
                let rho = exact.density(at: z)
                let jx = z[1] * rho, jv = model.force(at: z, 0) / model.mass * rho
                difference[c] = abs(currents[0][c] - jx) + abs(currents[1][c] - jv)
                size[c] = abs(jx) + abs(jv)
            }
            errors.append(grid.integrate(difference) / grid.integrate(size))
            // The wall condition ρ(x_w, v) = ρ(x_w, −v): the exact density is even in v, so any
            // asymmetry of the wall cells is discretization error — measured 0.47/n² of the peak
            // (second order); 1/n² allows twice that.
            let wall = Array(solution.density[0..<n]), peak = solution.density.max()!
            XCTAssertLessThan(zip(wall, wall.reversed()).map { abs($0 - $1) }.max()! / peak, 1 / Double(n * n),
                              "mirror symmetry at the wall, n = \(n)")
        }
        print("specular harmonic box: current errors \(errors)")
        for (coarse, fine) in zip(errors, errors.dropFirst()) {
            XCTAssertEqual(log2(coarse / fine), 2, accuracy: 0.2, "current errors \(errors)")
        }
    }

    /// The same box with zero-flux walls: a boundary layer that does not converge (50 % L1 off),
    /// and the warning that says so and names specular walls.
    func testZeroFluxPositionWallIsFlagged() throws {
        for boundary in ["reflecting", "specular"] {
            let (problem, model) = try harmonicBox(boundary, cells: 64)
            let solution = try StationarySolver().solve(FiniteVolumeScheme(grid: problem.grid, model: model))
            let exact = problem.grid.sample(LangevinBoltzmann(model: model, box: problem.grid).density(at:))
            let error = problem.grid.integrate(zip(solution.density, exact).map { abs($0 - $1) })
            let warnings = ResolutionWarnings.zeroFluxPositionWalls(solution.density, grid: problem.grid, model: model)
            if boundary == "reflecting" {
                XCTAssertGreaterThan(error, 0.3, "the zero-flux wall's boundary layer (measured 0.499)")
                XCTAssertEqual(warnings.count, 1)
                XCTAssertTrue(warnings.first?.contains("specular") ?? false, "\(warnings)")
            } else {
                // Measured 1.3e-4 at 64² (the validation case's table).
                XCTAssertLessThan(error, 3e-4)
                XCTAssertEqual(warnings, [])
            }
        }
    }

    /// A Gaussian launched at the wall bounces: the mass stays 1 to round-off through the
    /// evolution (what leaves at v re-enters at −v), and the density relaxes to the stationary one.
    func testSpecularEvolutionConservesMass() throws {
        // An odd velocity count has a middle row at v = 0, its own mirror (review: it must carry
        // nothing through the wall).
        for velocityCells in [48, 41] {
            try bounce(velocityCells: velocityCells)
        }
    }

    func bounce(velocityCells: Int) throws {
        let (problem, model) = try harmonicBox(cells: 48, velocityCells: velocityCells)
        let grid = problem.grid
        let scheme = FiniteVolumeScheme(grid: grid, model: model)
        let initial = try EvolveSettings.InitialCondition.gaussian(mean: [0.8, 1.5], covariance: Matrix([[0.04, 0], [0, 0.1]]))
            .density(on: grid).density
        let settings = EvolveSettings(tEnd: 12, dt: 0.01, scheme: .bdf2, frames: 7, initial: nil)
        let recorder = FrameCollector()
        let summary = try Evolution(discretization: scheme, settings: settings).run(initial: initial, observers: [recorder])
        // Each step's solve changes the mass by its residual's sum (~1e-16 · √n); 1200 steps.
        XCTAssertLessThan(summary.massDrift, 1e-12)
        let stationary = try StationarySolver().solve(scheme).density
        let distance = grid.integrate(zip(recorder.densities.last!, stationary).map { abs($0 - $1) })
        // Relaxation at rate ~ friction/2 = 0.5 over t = 12: e^{−6} ≈ 2.5e-3 of the initial distance (≤ 2).
        XCTAssertLessThan(distance, 1e-2)
    }

    /// Specular walls need a position axis and a velocity axis symmetric about 0; the
    /// `sgd-momentum` phase space qualifies (θ_i moves with v_i).
    func testSpecularWallsAreRefusedWhereTheyMeanNothing() throws {
        let linear = """
            [grid]
            lower = [-3.0]
            upper = [3.0]
            cells = [30]
            boundary = ["specular"]
            [model]
            type = "linear"
            drift_matrix = [[1.0]]
            diffusion = [[1.0]]
            """
        XCTAssertThrowsError(try Problem(text: linear, source: "l.toml")) { error in
            XCTAssertTrue("\(error)".contains("phase-space model"), "\(error)")
        }
        let path = validationProblem("langevin-specular.toml")
        XCTAssertThrowsError(try Problem(contentsOf: path, overrides: ["grid.boundary=[\"specular\", \"specular\"]"])) { error in
            XCTAssertTrue("\(error)".contains("position axis (x)"), "\(error)")
        }
        XCTAssertThrowsError(try Problem(contentsOf: path, overrides: ["grid.lower=[-1.2, -4.0]"])) { error in
            XCTAssertTrue("\(error)".contains("symmetric about 0"), "\(error)")
        }
        // An offset of 2e-9 of the width (the review's leak) is refused too, and shown.
        XCTAssertThrowsError(try Problem(contentsOf: path, overrides: ["grid.upper=[1.2, 5.00000002]"])) { error in
            XCTAssertTrue("\(error)".contains("5.00000002"), "\(error)")
        }
        let sgd = try Problem(contentsOf: validationProblem("../../grids/sgd-momentum-p1.toml"),
                              overrides: ["grid.boundary=[\"specular\", \"reflecting\"]"])
        let solution = try sgd.solver.solve(FiniteVolumeScheme(grid: sgd.grid, model: sgd.model.coefficients))
        XCTAssertEqual(sgd.grid.integrate(solution.density), 1, accuracy: 1e-12)
    }
}
