import XCTest
@testable import FokkerPlanck

/// Issue 10: Langevin (Kramers) dynamics on a ring and a torus in Fourier × Hermite modes.
final class LangevinSpectralTests: XCTestCase {
    func problem(potential: String, positions: Int = 1, modes: [Int], extra: String = "") throws -> Problem {
        let axes = positions == 1 ? "[\"x\", \"v\"]" : "[\"x\", \"y\", \"vx\", \"vy\"]"
        let lower = positions == 1 ? "[0.0, -5.0]" : "[0.0, 0.0, -5.0, -5.0]"
        let upper = positions == 1 ? "[6.283185307179586, 5.0]" : "[6.283185307179586, 6.283185307179586, 5.0, 5.0]"
        let cells = positions == 1 ? "[64, 48]" : "[16, 16, 12, 12]"
        let boundary = positions == 1 ? "[\"periodic\", \"reflecting\"]" : "[\"periodic\", \"periodic\", \"reflecting\", \"reflecting\"]"
        let basis = positions == 1 ? "[\"fourier\", \"hermite\"]" : "[\"fourier\", \"fourier\", \"hermite\", \"hermite\"]"
        return try Problem(text: """
            [grid]
            axes = \(axes)
            lower = \(lower)
            upper = \(upper)
            cells = \(cells)
            boundary = \(boundary)
            [model]
            type = "langevin"
            potential = "\(potential)"
            mass = 1.0
            friction = 1.0
            temperature = 1.0
            \(extra)
            [discretization]
            type = "spectral"
            basis = \(basis)
            modes = \(modes)
            """)
    }

    /// The Boltzmann density of U = cos x on the ring within 1e-9 of its peak (measured 6e-16
    /// relative at 33×8 modes: the stationary state is c_0(x) ψ_0 with c_0 ∝ e^{−cos x}, whose
    /// Fourier series falls like I_k(1)/I_0(1)), mass 1, and the position moments from the
    /// coefficients against their quadrature; on the torus (U = cos x + ½ cos y + 0.3 cos(x − y),
    /// 4-d) likewise (2e-8 relative at 17²×5², 2e-13 at 25²×5²).
    func testPeriodicBoltzmannDensityToRoundOff() throws {
        for (potential, positions, modes) in [("cos(x)", 1, [33, 8]), ("cos(x) + 0.5*cos(y) + 0.3*cos(x - y)", 2, [25, 25, 5, 5])] {
            let problem = try self.problem(potential: potential, positions: positions, modes: modes)
            guard case let .langevin(model) = problem.model else { return XCTFail() }
            let spectral = try XCTUnwrap(try problem.discretization() as? LangevinSpectralDiscretization)
            let solution = try StationarySolver().solve(spectral)
            XCTAssertEqual(solution.mass, 1, accuracy: 1e-14)
            XCTAssertLessThan(solution.residual, 1e-14)
            // Z by the trapezoid rule on 256 points per period: exact to round-off for a smooth
            // periodic integrand.
            var z = [Double](repeating: 0, count: 2 * positions)
            var sum = 0.0
            for c in 0..<Int(pow(256.0, Double(positions))) {
                for i in 0..<positions { z[i] = Double(i == 0 ? c % 256 : c / 256) * 2 * Double.pi / 256 }
                sum += exp(-model.energy(at: z) / model.temperature)
            }
            let z0 = sum * pow(2 * Double.pi / 256, Double(positions)) * pow(2 * Double.pi, Double(positions) / 2)
            let exact = problem.grid.sample { exp(-model.energy(at: $0) / model.temperature) / z0 }
            let worst = zip(solution.density, exact).map { abs($0 - $1) }.max()!
            print("Langevin \(potential), Fourier × Hermite \(modes): max |ρ − Boltzmann| = \(worst) of \(exact.max()!)")
            XCTAssertLessThan(worst, 1e-9 * exact.max()!)
            // The exact axis marginals: positions wholly in the box (periodic), each velocity the
            // Maxwellian N(0, T/m), so the box misses erfc(v_max/√(2T/m)) of it.
            let marginals = try XCTUnwrap(spectral.axisMarginals(of: solution.state))
            for j in 0..<positions {
                XCTAssertEqual(marginals[j].massOutside(problem.grid.axes[j].lower, problem.grid.axes[j].upper), 0)
                let axis = problem.grid.axes[positions + j]
                let thermal = (2 * model.temperature / model.mass).squareRoot()
                XCTAssertEqual(marginals[positions + j].massOutside(axis.lower, axis.upper),
                               0.5 * (erfc(axis.upper / thermal) + erfc(-axis.lower / thermal)), accuracy: 1e-15)
            }
            let moments = spectral.diagnostics(of: solution.state, density: solution.density)
            if positions == 1 {
                // The trapezoid rule again: ⟨x⟩ = π by symmetry of e^{−cos x}, ⟨(x − π)²⟩.
                var second = 0.0
                for i in 0..<4096 {
                    let x = Double(i) * 2 * Double.pi / 4096
                    second += (x - Double.pi) * (x - Double.pi) * exp(-cos(x))
                }
                let norm = (0..<4096).reduce(0.0) { $0 + exp(-cos(Double($1) * 2 * Double.pi / 4096)) }
                // The integrand's kink at the seam (x − π)² makes the rule O(h²) there: 4096
                // points leave about 1e-7; the coefficients' value is exact.
                XCTAssertEqual(moments.mean[0], Double.pi, accuracy: 1e-13)
                XCTAssertEqual(moments.covariance[0], second / norm, accuracy: 1e-6)
            }
            // Velocities: mean 0, covariance T/m I, uncorrelated with the positions.
            for i in 0..<positions {
                XCTAssertEqual(moments.mean[positions + i], 0, accuracy: 1e-13)
                XCTAssertEqual(moments.covariance[(positions + i) * 2 * positions + positions + i], 1, accuracy: 1e-12)
                XCTAssertEqual(moments.covariance[i * 2 * positions + positions + i], 0, accuracy: 1e-13)
            }
        }
    }

    /// A tilted ring (U = cos x − 0.5 x: a periodic force, a steady current): the mean velocity
    /// converges geometrically in the modes (to 1e-12 between 49×36 and 65×48), and the
    /// finite-volume solver approaches it from 256×192 to 512×384.
    func testTiltedRingAgreesWithFiniteVolumes() throws {
        var velocities: [Double] = []
        for modes in [[33, 12], [33, 24], [49, 36], [65, 48]] {
            let problem = try self.problem(potential: "cos(x) - 0.5*x", modes: modes)
            let spectral = try problem.discretization()
            let solution = try StationarySolver().solve(spectral)
            XCTAssertEqual(solution.mass, 1, accuracy: 1e-14)
            velocities.append(spectral.diagnostics(of: solution.state, density: solution.density).mean[1])
        }
        print("tilted ring ⟨v⟩ at 33×12, 33×24, 49×36, 65×48 modes: \(velocities)")
        XCTAssertEqual(velocities[3], velocities[2], accuracy: 1e-12)
        XCTAssertGreaterThan(abs(velocities[1] - velocities[3]), 10 * abs(velocities[2] - velocities[3]))
        var finiteVolume: [Double] = []
        var problem = try self.problem(potential: "cos(x) - 0.5*x", modes: [3, 3])
        problem.discretizationSettings = .finiteVolume
        for cells in [[256, 192], [512, 384]] {
            let grid = problem.grid.withCells(cells)
            let solution = try StationarySolver().solve(try problem.discretization(on: grid))
            finiteVolume.append(FrameDiagnostics(density: solution.density, grid: grid).mean[1])
        }
        print("finite volumes ⟨v⟩ at 256×192, 512×384: \(finiteVolume) (spectral \(velocities[3]))")
        // Second order or better: the 512×384 error at most half the 256×192 one, and small.
        XCTAssertLessThan(abs(finiteVolume[1] - velocities[3]), 0.5 * abs(finiteVolume[0] - velocities[3]))
        XCTAssertLessThan(abs(finiteVolume[1] - velocities[3]), 1e-4)
    }

    /// Evolution from a Gaussian (correlated x–v, wrapped on the ring) with the exponential
    /// integrator: its start is the exact expansion (mean and covariance from the coefficients
    /// against the wrapped Gaussian's), mass stays 1, and it relaxes to the stationary solve.
    func testEvolutionFromAGaussianRelaxesToBoltzmann() throws {
        let problem = try self.problem(potential: "cos(x)", modes: [33, 16], extra: """
            [evolve]
            t_end = 30.0
            dt = 0.1
            frames = 4
            scheme = "exponential"
            initial = { type = "gaussian", mean = [2.0, 0.5], covariance = [[0.3, 0.1], [0.1, 0.6]] }
            """)
        let spectral = try XCTUnwrap(try problem.discretization() as? LangevinSpectralDiscretization)
        let settings = try problem.checkEvolvable()
        let (state, _) = try spectral.initialState(settings.initial!)
        let start = spectral.diagnostics(of: state, density: spectral.density(of: state))
        XCTAssertEqual(start.mass, 1, accuracy: 1e-14)
        // On [0, 2π) a Gaussian of σ_x = 0.55 around 2.0 is whole to e^{−(2/0.55)²/2} ≈ 1e-3 of its
        // mass on the left: the wrapped moments differ from the line's by that much; the velocity
        // ones are exact.
        XCTAssertEqual(start.mean[1], 0.5, accuracy: 1e-13)
        XCTAssertEqual(start.covariance[3], 0.6, accuracy: 1e-13)
        let recorder = FrameCollector()
        let summary = try Evolution(discretization: spectral, settings: settings).run(initialState: state, observers: [recorder])
        XCTAssertLessThan(summary.massDrift, 1e-12)
        let stationary = try StationarySolver().solve(spectral)
        let last = recorder.densities.last!
        let difference = zip(last, stationary.density).map { abs($0 - $1) }.max()!
        print("Langevin ring from a Gaussian: max |ρ(t = 30) − ρ_stationary| = \(difference)")
        // The slowest rate of the Kramers operator here is about 0.5 (γ = 1, ω² = 1): e^{−15}.
        XCTAssertLessThan(difference, 1e-5)
    }
}
