import XCTest
@testable import FokkerPlanck

/// The evolve error estimate (issue 9: an a posteriori estimate on every solve) against the true
/// error of an OU transient, when the grid dominates and when the time step does.
final class EvolutionErrorEstimateTests: XCTestCase {
    /// dz = −2(z − 0.5) dt + sqrt(2 · 0.5) dW from N(−1, 0.05) on [−3, 3]: every frame's relative
    /// L1 error against the closed-form Gaussian, and the estimate of that frame.
    func errorsAndEstimates(cells: Int, dt: Double, scheme: EvolveSettings.Scheme) throws
        -> (errors: [Double], estimates: [Double], estimator: EvolutionErrorEstimator) {
        let model = LinearModel(driftMatrix: Matrix([[2.0]]), diffusion: Matrix([[0.5]]), center: [0.5])
        let grid = Grid(axes: [Axis(name: "x", lower: -3, upper: 3, cells: cells, boundary: .reflecting)])
        let initial = EvolveSettings.InitialCondition.gaussian(mean: [-1], covariance: Matrix([[0.05]]))
        let settings = EvolveSettings(tEnd: 1, dt: dt, scheme: scheme, frames: 11, initial: initial)
        let evolution = Evolution(discretization: FiniteVolumeScheme(grid: grid, model: model), settings: settings)
        let start = try initial.density(on: grid).density
        let estimator = try XCTUnwrap(EvolutionErrorEstimator(evolution: evolution, initial: start))
        let recorder = FrameCollector()
        _ = try evolution.run(initial: start, observers: [recorder, estimator])
        let transient = try OrnsteinUhlenbeckTransient(model, initialMean: [-1], initialCovariance: Matrix([[0.05]]))
        var errors: [Double] = [], estimates: [Double] = []
        for (frame, t) in recorder.times.enumerated() where frame > 0 {
            let exact = grid.sample(try transient.density(at: t))
            errors.append(ErrorEstimate.relativeL1(recorder.densities[frame], exact))
            estimates.append(estimator.total(frame: frame))
        }
        return (errors, estimates, estimator)
    }

    /// The estimate is within a factor 2 of the true error at every frame (issue 9's criterion,
    /// "once asymptotic"), whichever part dominates; and the parts are attributed correctly.
    func testEstimateTracksTheTrueError() throws {
        // Space-dominated: Δt = 1e-3 (CN time error ~1e-7) on 200 cells (h = 0.03, σ ≥ 7 h).
        let space = try errorsAndEstimates(cells: 200, dt: 1e-3, scheme: .crankNicolson)
        // Time-dominated: 1600 cells, implicit Euler with Δt = 0.02 (first order, ~1e-2).
        let time = try errorsAndEstimates(cells: 1600, dt: 0.02, scheme: .implicitEuler)
        for (label, run) in [("space", space), ("time", time)] {
            print("\(label): errors \(run.errors.map { String(format: "%.2e", $0) }), estimates \(run.estimates.map { String(format: "%.2e", $0) })")
            for (error, estimate) in zip(run.errors, run.estimates) {
                XCTAssertLessThan(error, 2 * estimate, label)
                XCTAssertLessThan(estimate, 2 * error, label)
            }
        }
        let spaceWorst = try XCTUnwrap(space.estimator.worst), timeWorst = try XCTUnwrap(time.estimator.worst)
        XCTAssertGreaterThan(spaceWorst.space, 10 * spaceWorst.time)
        XCTAssertGreaterThan(timeWorst.time, 10 * timeWorst.space)
        XCTAssertTrue(time.estimator.warnings(threshold: 1e-3).first?.contains("smaller dt") ?? false)
        XCTAssertTrue(space.estimator.warnings(threshold: 1e-6).first?.contains("more cells") ?? false)
        XCTAssertEqual(space.estimator.warnings(threshold: 1), [])
    }

    /// A step so small that Δt^q underflows: the time part is still finite (the ratio form), and
    /// the worst frame is a compared one, never the initial state's 0 (review of 24ce1f2: this
    /// reported "error 0 at t = 0"). Before any frame is compared there is no estimate, and the
    /// warning says so.
    func testTinyStepsAndUncomparedFrames() throws {
        let model = LinearModel(driftMatrix: Matrix([[1.0]]), diffusion: Matrix([[1.0]]))
        let grid = Grid(axes: [Axis(name: "x", lower: -4, upper: 4, cells: 40, boundary: .reflecting)])
        let initial = EvolveSettings.InitialCondition.gaussian(mean: [0.5], covariance: Matrix([[0.5]]))
        let settings = EvolveSettings(tEnd: 1e-200, dt: 1e-201, scheme: .crankNicolson, frames: 2, initial: initial)
        let evolution = Evolution(discretization: FiniteVolumeScheme(grid: grid, model: model), settings: settings)
        let start = try initial.density(on: grid).density
        let estimator = try XCTUnwrap(EvolutionErrorEstimator(evolution: evolution, initial: start))
        XCTAssertNil(estimator.worst)
        XCTAssertTrue(estimator.warnings(threshold: 0.01).first?.contains("no error estimate") ?? false)
        _ = try evolution.run(initial: start, observers: [estimator])
        let worst = try XCTUnwrap(estimator.worst)
        XCTAssertEqual(worst.at, 1e-200)
        XCTAssertTrue(worst.total.isFinite && worst.time.isFinite, "\(worst)")
    }
}

/// Issue 10, item 3: the exponential scheme, exp(τL) ρ by scaled Taylor series.
final class ExponentialSchemeTests: XCTestCase {
    /// Against the dense matrix exponential (Padé) of a small generator: the same vector to 1e-13
    /// relative, at short and long times (many sub-steps), and the mass kept.
    func testActionMatchesTheDenseExponential() throws {
        let model = LinearModel(driftMatrix: Matrix([[1.0, 0.3], [-0.4, 2.0]]), diffusion: Matrix([[0.5, 0.2], [0.2, 0.3]]))
        let grid = Grid(axes: [Axis(name: "x", lower: -4, upper: 4, cells: 9, boundary: .reflecting),
                               Axis(name: "y", lower: -4, upper: 4, cells: 8, boundary: .reflecting)])
        let scheme = FiniteVolumeScheme(grid: grid, model: model)
        let l = scheme.assemble()
        var dense = Matrix(rows: l.rows, columns: l.columns)
        for j in 0..<l.columns { for p in l.columnStarts[j]..<l.columnStarts[j + 1] { dense[l.rowIndices[p], j] = l.values[p] } }
        let rho = try EvolveSettings.InitialCondition.gaussian(mean: [1, -0.5], covariance: Matrix([[1, 0], [0, 1]])).density(on: grid).density
        let action = ExponentialAction(l)
        let krylov = KrylovExponential(l)
        for t in [0.01, 0.5, 3.0] {
            let exact = try (t * dense).exponential() * rho
            let (result, products) = action.apply(rho, time: t)
            let error = zip(result, exact).map { abs($0 - $1) }.max()! / exact.map(abs).max()!
            let (projected, krylovProducts) = try krylov.apply(rho, time: t)
            let krylovError = zip(projected, exact).map { abs($0 - $1) }.max()! / exact.map(abs).max()!
            print("exp(\(t) L) ρ: Taylor \(products) products, relative error \(error); Krylov \(krylovProducts) products, \(krylovError)")
            // Both to ~1e-15 per product; Padé's own error on ‖tL‖ up to ~40 is a few 1e-15.
            XCTAssertLessThan(error, 1e-13, "t = \(t)")
            XCTAssertEqual(grid.integrate(result), grid.integrate(rho), accuracy: 1e-13)
            // Krylov: local error 1e-14 ‖ρ‖₂ per unit time.
            XCTAssertLessThan(krylovError, 1e-12, "t = \(t)")
            XCTAssertEqual(grid.integrate(projected), grid.integrate(rho), accuracy: 1e-12)
        }
    }

    /// `evolve` with scheme = "exponential": no time-step error, so on the OU transient the error
    /// is the grid's alone — second order in h (two-sided), one step per frame.
    func testExponentialEvolutionIsSecondOrderInSpaceOnly() throws {
        let model = LinearModel(driftMatrix: Matrix([[2.0]]), diffusion: Matrix([[0.5]]), center: [0.5])
        let initial = EvolveSettings.InitialCondition.gaussian(mean: [-1], covariance: Matrix([[0.05]]))
        let transient = try OrnsteinUhlenbeckTransient(model, initialMean: [-1], initialCovariance: Matrix([[0.05]]))
        var errors: [Double] = []
        for cells in [100, 200, 400] {
            let grid = Grid(axes: [Axis(name: "x", lower: -3, upper: 3, cells: cells, boundary: .reflecting)])
            let settings = EvolveSettings(tEnd: 1, dt: 1, scheme: .exponential, frames: 5, initial: initial)
            let evolution = Evolution(discretization: FiniteVolumeScheme(grid: grid, model: model), settings: settings)
            XCTAssertEqual(evolution.stepsPerFrame, 1)
            let recorder = FrameCollector()
            let summary = try evolution.run(initial: try initial.density(on: grid).density, observers: [recorder])
            // The shift μ = trace/n gives each Taylor term a non-zero sum, so the mass is kept to
            // the series' tolerance summed over the cells (measured 4.7e-13 at 400 cells), not
            // to the 1e-15 of the implicit schemes.
            XCTAssertLessThan(summary.massDrift, 2e-12)
            let exact = grid.sample(try transient.density(at: 1))
            errors.append(grid.integrate(zip(recorder.densities.last!, exact).map { abs($0 - $1) }))
        }
        print("exponential evolve, OU 1-d at t = 1: L1 errors \(errors)")
        for (coarse, fine) in zip(errors, errors.dropFirst()) {
            XCTAssertEqual(log2(coarse / fine), 2, accuracy: 0.2, "errors \(errors)")
        }
    }
}
