import FokkerPlanck
import Foundation
import XCTest

/// A gradient drift μ = −U′ with U = a x⁴ − b x² (a double well), constant D. Not affine, so the
/// scheme averages μ/D over each face with 3-point Gauss–Legendre, which is exact for this cubic μ.
struct DoubleWellModel: DriftDiffusionModel {
    var a = 0.25, b = 1.0, d = 0.5
    var dimension: Int { 1 }
    var temperature: Double { d }
    var hasConstantDiffusion: Bool { true }
    var hasAffineDrift: Bool { false }
    func potential(_ x: Double) -> Double { a * x * x * x * x - b * x * x }
    func drift(at x: [Double], into mu: inout [Double]) { mu[0] = -(4 * a * x[0] * x[0] * x[0] - 2 * b * x[0]) }
    func diffusion(at x: [Double], into out: inout [Double]) { out[0] = d }
}

/// Tilted periodic potential on a ring: μ = F − V′(x), V = v₀ cos x, constant D, x ∈ [0, 2π).
struct TiltedRingModel: DriftDiffusionModel {
    var force = 0.7, v0 = 1.0, d = 0.8
    var dimension: Int { 1 }
    var temperature: Double { d }
    var hasConstantDiffusion: Bool { true }
    var hasAffineDrift: Bool { false }
    func drift(at x: [Double], into mu: inout [Double]) { mu[0] = force + v0 * sin(x[0]) }
    func diffusion(at x: [Double], into out: inout [Double]) { out[0] = d }
}

/// One-dimensional cases whose discrete solution is known exactly, or whose closed form is.
final class OneDimensionalExactTests: XCTestCase {
    /// With a potential drift and constant D, the Scharfetter–Gummel zero-flux condition between
    /// neighbours is ρ_E/ρ_P = exp(−(U_E − U_P)/D) exactly, so the discrete stationary state is the
    /// discrete Boltzmann weights, to round-off.
    func testPotentialDriftGivesDiscreteBoltzmannWeights() throws {
        let model = DoubleWellModel()
        let grid = makeGrid(lower: [-3], upper: [3], cells: [120])
        let solution = try StationarySolver().solve(FiniteVolumeScheme(grid: grid, model: model))
        let weights = grid.sample { exp(-model.potential($0[0]) / model.d) }
        let total = grid.integrate(weights)
        var worst = 0.0
        for c in 0..<grid.cellCount {
            worst = max(worst, abs(solution.density[c] - weights[c] / total) / (weights[c] / total))
        }
        print("Boltzmann weights: worst relative error \(worst)")
        // Componentwise relative error: a tridiagonal LU of this M-matrix is componentwise stable,
        // so the error is a few ulps per cell times the number of cells (120 · 1e-16).
        XCTAssertLessThan(worst, 1e-12)
        XCTAssertEqual(solution.mass, 1, accuracy: 1e-13)
    }

    /// Uniform drift m between reflecting walls on [0, 1]: ρ ∝ exp(a x), a = m/D. The
    /// Scharfetter–Gummel flux makes the discrete solution equal to the exact cell averages
    /// (1/h)∫_cell ρ at any grid Péclet number m h / D.
    func testUniformDriftReproducesExponentialProfileAtAnyPeclet() throws {
        for peclet in [0.5, 2.0, 5.0] {
            let cells = 20
            let h = 1.0 / Double(cells)
            let d = 0.3
            let drift = peclet * d / h
            let model = LinearModel(driftMatrix: Matrix([[0]]), diffusion: Matrix([[d]]))
            let shifted = UniformDriftModel(velocity: drift, base: model)
            let grid = makeGrid(lower: [0], upper: [1], cells: [cells])
            let solution = try StationarySolver().solve(FiniteVolumeScheme(grid: grid, model: shifted))
            let a = drift / d
            // Exact cell average of a e^{ax}/(e^a − 1), computed without cancellation:
            // (e^{a x₊} − e^{a x₋}) / (h (e^a − 1)) = e^{a (x₊ − 1)} (1 − e^{−a h}) / (h (1 − e^{−a})).
            // The profile spans e^{Pe · cells} (e^100 at Pe = 5), far beyond what a normwise-stable
            // solve resolves componentwise in the tiny cells, so the error is measured relative to
            // the largest value: round-off of a 20-cell solve, a few ulps.
            var worst = 0.0
            let top = solution.density.max()!
            for i in 0..<cells {
                let upper = Double(i + 1) * h
                let exact = exp(a * (upper - 1)) * -expm1(-a * h) / (h * -expm1(-a))
                worst = max(worst, abs(solution.density[i] - exact) / top)
            }
            print("exponential profile at grid Péclet \(peclet): max error / max ρ = \(worst)")
            XCTAssertLessThan(worst, 1e-13, "Péclet \(peclet)")
        }
    }

    /// A profile spanning e^{2000}: pinned at the middle cell the unnormalised solution would reach
    /// e^{1000} and overflow, so the solver must re-pin where the density is largest and still
    /// return the exact cell averages (relative to the maximum; the far side underflows to 0).
    func testHugeDynamicRangeIsSolvedWithoutOverflow() throws {
        let cells = 400, peclet = 5.0, d = 0.3
        let h = 1.0 / Double(cells)
        let model = UniformDriftModel(velocity: peclet * d / h, base: LinearModel(driftMatrix: Matrix([[0]]), diffusion: Matrix([[d]])))
        let grid = makeGrid(lower: [0], upper: [1], cells: [cells])
        let solution = try StationarySolver().solve(FiniteVolumeScheme(grid: grid, model: model))
        XCTAssertTrue(solution.density.allSatisfy(\.isFinite))
        XCTAssertEqual(solution.mass, 1, accuracy: 1e-14)
        let a = peclet / h
        let top = solution.density.max()!
        var worst = 0.0
        for i in 0..<cells {
            let exact = exp(a * (Double(i + 1) * h - 1)) * -expm1(-a * h) / (h * -expm1(-a))
            worst = max(worst, abs(solution.density[i] - exact) / top)
        }
        // Round-off relative to the maximum, as in the moderate-range test.
        XCTAssertLessThan(worst, 1e-13)
    }

    /// On a ring the tilted cosine has a stationary state with a constant non-zero current:
    /// ρ(x) = (J/D) e^{−Ψ(x)} ∫_x^{x+2π} e^{Ψ(y)} dy / (1 − e^{−2πF/D}), Ψ = (V − F x)/D
    /// (Stratonovich). The discrete J must be the same in every cell (∇·J = 0) and the density
    /// second-order accurate.
    func testTiltedRingConvergesAndCarriesConstantCurrent() throws {
        let model = TiltedRingModel()
        func psi(_ x: Double) -> Double { (model.v0 * cos(x) - model.force * x) / model.d }
        // Simpson's rule with 4000 intervals: error ~ (2π/4000)⁴ ~ 1e-11, far below the grid error.
        func tail(_ x: Double) -> Double {
            let m = 4000, h = 2 * Double.pi / Double(m)
            var s = exp(psi(x)) + exp(psi(x + 2 * .pi))
            for i in 1..<m { s += (i % 2 == 1 ? 4 : 2) * exp(psi(x + Double(i) * h)) }
            return s * h / 3
        }
        var errors: [Double] = [], spacings: [Double] = []
        for n in [32, 64, 128] {
            let grid = Grid(axes: [Axis(name: "x", lower: 0, upper: 2 * .pi, cells: n, boundary: .periodic)])
            let scheme = FiniteVolumeScheme(grid: grid, model: model)
            let solution = try StationarySolver().solve(scheme)
            let unnormalised = grid.sample { exp(-psi($0[0])) * tail($0[0]) }
            // Normalise the closed form with its own exact-enough integral (fine Simpson, 2048 cells).
            let fine = Grid(axes: [Axis(name: "x", lower: 0, upper: 2 * .pi, cells: 2048, boundary: .periodic)])
            let total = fine.integrate(fine.sample { exp(-psi($0[0])) * tail($0[0]) })
            let error = zip(solution.density, unnormalised).reduce(0) { $0 + abs($1.0 - $1.1 / total) } * grid.cellVolume
            errors.append(error)
            spacings.append(grid.axes[0].spacing)
            let current = scheme.cellCurrents(solution.density)[0]
            let spread = (current.max()! - current.min()!) / abs(current.max()!)
            // A stationary J is constant on a ring; round-off of the solve (condition ~ n²).
            XCTAssertLessThan(spread, 1e-10)
            XCTAssertGreaterThan(current[0], 0, "a positive tilt drives a positive current")
        }
        let orders = observedOrders(errors: errors, spacings: spacings)
        print("tilted ring L1 errors \(errors), orders \(orders)")
        for order in orders { XCTAssertGreaterThanOrEqual(order, 1.8) }
    }
}

/// μ = m (constant), D from a base linear model.
struct UniformDriftModel: DriftDiffusionModel {
    var velocity: Double
    var base: LinearModel
    var dimension: Int { 1 }
    var temperature: Double { 1 }
    var hasConstantDiffusion: Bool { true }
    var hasAffineDrift: Bool { true }
    func drift(at x: [Double], into mu: inout [Double]) { mu[0] = velocity }
    func diffusion(at x: [Double], into out: inout [Double]) { base.diffusion(at: x, into: &out) }
}
