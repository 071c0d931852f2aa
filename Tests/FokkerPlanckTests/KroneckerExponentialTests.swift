import XCTest
@testable import FokkerPlanck

/// The exponential scheme's tensor-product path: exp(τL) = ⊗ exp(τL_k) when the finite-volume
/// generator is a Kronecker sum, detected from the matrix alone.
final class KroneckerExponentialTests: XCTestCase {
    func generator(_ model: LinearModel, _ axes: [Axis]) -> (SparseMatrix, Grid) {
        let grid = Grid(axes: axes)
        return (FiniteVolumeScheme(grid: grid, model: model).assemble(), grid)
    }

    /// Diagonal A and D (2-d and 3-d, reflecting and periodic axes, unequal cell counts): the
    /// tensor product agrees with the Krylov exponential (tolerance 1e-14 per unit time) to
    /// 1e-11 relative, and conserves mass to round-off.
    func testSeparableGeneratorsMatchKrylov() throws {
        let cases: [(LinearModel, [Axis])] = [
            (LinearModel(driftMatrix: Matrix([[1.0, 0], [0, 2.5]]), diffusion: Matrix([[0.5, 0], [0, 0.3]]), center: [0.4, -0.2]),
             [Axis(name: "x", lower: -4, upper: 4, cells: 48, boundary: .reflecting),
              Axis(name: "y", lower: -3, upper: 3, cells: 36, boundary: .reflecting)]),
            (LinearModel(driftMatrix: Matrix([[1.0, 0, 0], [0, 0.5, 0], [0, 0, 2]]), diffusion: Matrix([[0.4, 0, 0], [0, 1, 0], [0, 0, 0.2]])),
             [Axis(name: "x", lower: -4, upper: 4, cells: 20, boundary: .reflecting),
              Axis(name: "y", lower: -5, upper: 5, cells: 16, boundary: .periodic),
              Axis(name: "z", lower: -2, upper: 2, cells: 12, boundary: .reflecting)]),
        ]
        for (model, axes) in cases {
            let (l, grid) = generator(model, axes)
            let tensor = try XCTUnwrap(try KroneckerExponential(generator: l, shape: grid.shape, time: 0.3), "\(grid.shape)")
            let start = grid.sample { z in exp(-z.reduce(0) { $0 + 2 * ($1 - 0.5) * ($1 - 0.5) }) }
            let krylov = try KrylovExponential(l).apply(start, time: 0.3).result
            let fast = tensor.apply(start)
            let scale = krylov.map(abs).max()!
            let difference = zip(fast, krylov).map { abs($0 - $1) }.max()! / scale
            XCTAssertLessThan(difference, 1e-11, "\(grid.shape)")
            XCTAssertEqual(fast.reduce(0, +), start.reduce(0, +), accuracy: 1e-13 * start.reduce(0, +))
            print("Kronecker exp(τL) on \(grid.shape): max relative difference from Krylov \(difference)")
        }
    }

    /// A full D (or a non-diagonal A) couples the axes: no Kronecker sum, and the scheme falls back
    /// to Krylov. So does a non-symmetric A whose off-diagonal is tiny but not round-off.
    func testCoupledGeneratorsAreRefused() throws {
        let axes = [Axis(name: "x", lower: -4, upper: 4, cells: 24, boundary: .reflecting),
                    Axis(name: "y", lower: -4, upper: 4, cells: 20, boundary: .reflecting)]
        for model in [LinearModel(driftMatrix: Matrix([[1.0, 0], [0, 2]]), diffusion: Matrix([[0.5, 0.2], [0.2, 0.3]])),
                      LinearModel(driftMatrix: Matrix([[1.0, 1e-9], [0, 2]]), diffusion: Matrix([[0.5, 0], [0, 0.3]]))] {
            let (l, grid) = generator(model, axes)
            XCTAssertNil(try KroneckerExponential(generator: l, shape: grid.shape, time: 0.3))
        }
    }

    /// Long frames: with a stiff last axis a corner-based split of the diagonal once overflowed
    /// (e^{±τ g} with τ|g| > 709 gave NaN at τ = 5 on 200²), and the Padé squarings' round-off
    /// drifted the mass by 4e-9 at τ‖L‖ = 1e7. Now τ = 500 stays finite, conserves mass to
    /// round-off and lands on the stationary solve's density (1e-10 relative: the slowest rate is
    /// 0.01, so e^{−5} of the start remains — the start is chosen close to it); an absorbing wall
    /// matches Krylov.
    func testLongFramesStayBoundedAndAbsorbingWallsMatchKrylov() throws {
        let model = LinearModel(driftMatrix: Matrix([[1.0, 0], [0, 30.0]]), diffusion: Matrix([[0.5, 0], [0, 0.3]]))
        let axes = [Axis(name: "x", lower: -4, upper: 4, cells: 40, boundary: .reflecting),
                    Axis(name: "y", lower: -1, upper: 1, cells: 60, boundary: .reflecting)]
        let (l, grid) = generator(model, axes)
        let tensor = try XCTUnwrap(try KroneckerExponential(generator: l, shape: grid.shape, time: 500))
        let stationary = try StationarySolver().solve(FiniteVolumeScheme(grid: grid, model: model)).density
        var start = stationary
        for c in start.indices { start[c] *= 1 + 0.1 * sin(Double(c)) }
        let mass = start.reduce(0, +)
        let result = tensor.apply(start)
        XCTAssertTrue(result.allSatisfy(\.isFinite))
        XCTAssertEqual(result.reduce(0, +), mass, accuracy: 1e-13 * mass)
        let scale = mass / stationary.reduce(0, +)
        let worst = zip(result, stationary).map { abs($0 - scale * $1) }.max()! / stationary.max()!
        XCTAssertLessThan(worst, 1e-10)

        let absorbing = [Axis(name: "x", lower: -4, upper: 4, cells: 30, boundary: .absorbing),
                         Axis(name: "y", lower: -3, upper: 3, cells: 24, boundary: .reflecting)]
        let (la, gridA) = generator(LinearModel(driftMatrix: Matrix([[1.0, 0], [0, 2]]), diffusion: Matrix([[0.5, 0], [0, 0.3]])), absorbing)
        let tensorA = try XCTUnwrap(try KroneckerExponential(generator: la, shape: gridA.shape, time: 2))
        let startA = gridA.sample { z in exp(-2 * ((z[0] - 3.3) * (z[0] - 3.3) + z[1] * z[1])) }
        let krylov = try KrylovExponential(la).apply(startA, time: 2).result
        let difference = zip(tensorA.apply(startA), krylov).map { abs($0 - $1) }.max()! / krylov.map(abs).max()!
        XCTAssertLessThan(difference, 1e-11)
        XCTAssertLessThan(krylov.reduce(0, +), 0.99 * startA.reduce(0, +), "the absorbing wall must take mass")
    }
}
