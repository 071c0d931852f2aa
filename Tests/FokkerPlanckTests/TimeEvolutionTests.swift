import FokkerPlanck
import Foundation
import XCTest

/// The transient of the 2-d anisotropic OU from an off-centre Gaussian against its closed form
/// (THEORY §1), and the orders of the time steppers.
final class TimeEvolutionTests: XCTestCase {
    let model = LinearModel(driftMatrix: Matrix([[1.0, 0.3], [-0.4, 2.0]]), diffusion: Matrix([[0.5, 0.2], [0.2, 0.3]]))
    let mean0 = [1.0, 0.0]
    let covariance0 = Matrix([[0.1, 0.0], [0.0, 0.1]])

    /// Frames at t = 0, 0.5, 1, 1.5, 2 (so t = 0.5 is frame 1 and t = 2 is frame 4).
    func evolve(cells: Int, dt: Double, scheme: EvolveSettings.Scheme) throws -> (Grid, FrameCollector, EvolutionSummary) {
        // Box ≥ 6.7 stationary σ per axis, as in the stationary test; the initial Gaussian (σ = 0.32
        // at x = 1) lies well inside.
        let grid = makeGrid(lower: [-4.5, -3], upper: [4.5, 3], cells: [cells, cells])
        let initial = EvolveSettings.InitialCondition.gaussian(mean: mean0, covariance: covariance0)
        let settings = EvolveSettings(tEnd: 2, dt: dt, scheme: scheme, frames: 5, initial: initial)
        let recorder = FrameCollector()
        let evolution = Evolution(discretization: FiniteVolumeScheme(grid: grid, model: model), settings: settings)
        let summary = try evolution.run(initial: try initial.density(on: grid).density, observers: [recorder])
        return (grid, recorder, summary)
    }

    func l1(_ a: [Double], _ b: [Double], _ grid: Grid) -> Double {
        zip(a, b).reduce(0) { $0 + abs($1.0 - $1.1) } * grid.cellVolume
    }

    /// Errors of frame `frame` against the closed form: density L1, |mean error|, max |covariance error|.
    func closedFormErrors(_ grid: Grid, _ recorder: FrameCollector, frame: Int) throws -> (Double, Double, Double) {
        let transient = try OrnsteinUhlenbeckTransient(model, initialMean: mean0, initialCovariance: covariance0)
        let t = recorder.times[frame]
        let exact = grid.sample(try transient.density(at: t))
        let mean = try transient.mean(at: t)
        let covariance = try transient.covariance(at: t)
        let d = recorder.diagnostics[frame]
        let meanError = zip(d.mean, mean).map { abs($0 - $1) }.max()!
        let covarianceError = zip(d.covariance, covariance.elements).map { abs($0 - $1) }.max()!
        return (l1(recorder.densities[frame], exact, grid), meanError, covarianceError)
    }

    /// Order in time on a fixed grid. The time error is isolated by comparing with the same grid at
    /// Δt/16 (the spatial error is common to both and cancels); density, mean and covariance at
    /// t = 0.5 and t = 2.
    func testTimeOrders() throws {
        let dts = [0.1, 0.05, 0.025]
        for (scheme, expected) in [(EvolveSettings.Scheme.crankNicolson, 2.0), (.bdf2, 2.0), (.implicitEuler, 1.0)] {
            let (grid, reference, _) = try evolve(cells: 48, dt: dts.last! / 16, scheme: scheme)
            for frame in [1, 4] {
                var densityErrors: [Double] = [], meanErrors: [Double] = [], covarianceErrors: [Double] = []
                for dt in dts {
                    let (_, run, summary) = try evolve(cells: 48, dt: dt, scheme: scheme)
                    XCTAssertEqual(summary.dt, dt, accuracy: 1e-15)
                    densityErrors.append(l1(run.densities[frame], reference.densities[frame], grid))
                    let (a, b) = (run.diagnostics[frame], reference.diagnostics[frame])
                    meanErrors.append(zip(a.mean, b.mean).map { abs($0 - $1) }.max()!)
                    covarianceErrors.append(zip(a.covariance, b.covariance).map { abs($0 - $1) }.max()!)
                }
                for (name, errors) in [("density", densityErrors), ("mean", meanErrors), ("covariance", covarianceErrors)] {
                    let orders = observedOrders(errors: errors, spacings: dts)
                    print("time order \(scheme.rawValue) t=\(reference.times[frame]) \(name): errors \(errors), orders \(orders)")
                    for order in orders {
                        // Second-order schemes: ≥ 2 − 0.2; implicit Euler: 1 ± 0.2.
                        if expected == 2 { XCTAssertGreaterThanOrEqual(order, 1.8, "\(scheme) \(name)") }
                        else { XCTAssertEqual(order, 1, accuracy: 0.2, "\(scheme) \(name)") }
                    }
                }
            }
        }
    }

    /// Order in space with a small fixed step (Crank–Nicolson, Δt = 0.005: its time error is ~100×
    /// below the spatial error at the finest grid), against the closed form.
    func testSpaceOrderAgainstClosedForm() throws {
        var errors: [[Double]] = [[], [], [], [], [], []]
        var spacings: [Double] = []
        for cells in [48, 96, 192] {
            let (grid, run, summary) = try evolve(cells: cells, dt: 0.005, scheme: .crankNicolson)
            spacings.append(grid.spacing.max()!)
            for (k, frame) in [1, 4].enumerated() {
                let (density, mean, covariance) = try closedFormErrors(grid, run, frame: frame)
                errors[3 * k].append(density); errors[3 * k + 1].append(mean); errors[3 * k + 2].append(covariance)
            }
            // Mass at every frame: each solve changes it by its residual's sum (~√n · 1e-16).
            for d in run.diagnostics { XCTAssertEqual(d.mass, 1, accuracy: 1e-12) }
            XCTAssertLessThan(summary.massDrift, 1e-12)
        }
        for (k, name) in ["ρ t=0.5", "mean t=0.5", "covariance t=0.5", "ρ t=2", "mean t=2", "covariance t=2"].enumerated() {
            let orders = observedOrders(errors: errors[k], spacings: spacings)
            print("space order \(name): errors \(errors[k]), orders \(orders)")
            for order in orders { XCTAssertGreaterThanOrEqual(order, 1.8, name) }
        }
    }

    /// A long BDF2 run reaches the stationary solution of the same grid: the slowest transient (the
    /// mean) decays like e^{−λt} with λ = min eig(A) = 1.14, so at t = 20 what is left is
    /// e^{−22.8} ≈ 1.3e-10 times an O(1) initial distance (measured 1.9e-6 at t = 12, as e^{−13.7}
    /// predicts); the discrete fixed point of any implicit step is exactly L ρ = 0.
    func testLongRunReachesStationarySolve() throws {
        let grid = makeGrid(lower: [-4.5, -3], upper: [4.5, 3], cells: [48, 48])
        let initial = EvolveSettings.InitialCondition.gaussian(mean: mean0, covariance: covariance0)
        let settings = EvolveSettings(tEnd: 20, dt: 0.05, scheme: .bdf2, frames: 2, initial: initial)
        let recorder = FrameCollector()
        let scheme = FiniteVolumeScheme(grid: grid, model: model)
        _ = try Evolution(discretization: scheme, settings: settings).run(initial: try initial.density(on: grid).density, observers: [recorder])
        let stationary = try StationarySolver().solve(scheme)
        let difference = l1(recorder.densities.last!, stationary.density, grid)
        print("t = 20 vs stationary solve: L1 \(difference)")
        XCTAssertLessThan(difference, 1e-8)
    }

    func testMatrixExponentialAndTransientReference() throws {
        // e^{tJ} of the rotation generator J = [[0, −1], [1, 0]] is the rotation by t.
        let t = 2.7
        let rotation = try (t * Matrix([[0, -1], [1, 0]])).exponential()
        XCTAssertLessThan((rotation - Matrix([[cos(t), -sin(t)], [sin(t), cos(t)]])).maxAbs, 1e-14)
        // A large norm exercises the squaring: e^{diag(−30, 5)}.
        let big = try Matrix.diagonal([-30, 5]).exponential()
        XCTAssertEqual(big[0, 0] / exp(-30), 1, accuracy: 1e-12)
        XCTAssertEqual(big[1, 1] / exp(5), 1, accuracy: 1e-13)
        let transient = try OrnsteinUhlenbeckTransient(model, initialMean: mean0, initialCovariance: covariance0)
        XCTAssertLessThan((try transient.covariance(at: 0) - covariance0).maxAbs, 1e-15)
        XCTAssertLessThan((try transient.covariance(at: 40) - transient.stationary.covariance).maxAbs, 1e-14)
        // dC/dt = −A C − C Aᵀ + 2D, checked by a centred difference (error ~ h² C‴ ≈ 1e-9).
        let h = 1e-4, s = 0.7
        let derivative = (1 / (2 * h)) * (try transient.covariance(at: s + h) - transient.covariance(at: s - h))
        let c = try transient.covariance(at: s)
        let a = model.driftMatrix
        let rhs = (-1 * (a * c)) - c * a.transposed + 2 * model.diffusionMatrix
        XCTAssertLessThan((derivative - rhs).maxAbs, 1e-7)
    }
}
