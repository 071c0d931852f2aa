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
}
