import Foundation

extension Problem {
    /// Refuses, before any work, a stationary problem that has no unique solution or does not fit in
    /// memory (SPEC §3, "Bad input"); returns warnings for one that is solvable only on its box.
    @discardableResult
    public func checkStationarySolvable(memoryLimit: Double = Double(ProcessInfo.processInfo.physicalMemory)) throws -> [String] {
        let context = decodingContext
        var warnings: [String] = []
        if let k = grid.axes.firstIndex(where: { $0.boundary == .absorbing }) {
            throw context.error("grid.boundary[\(k)]",
                "an absorbing wall lets probability leave, so no stationary state exists; `fpsolve solve` needs reflecting or periodic walls (use `fpsolve evolve` to watch the mass leave)")
        }
        if case let .linear(model) = model {
            // dz = −A(z − c)dt with an eigenvalue of A of negative real part pushes mass away from
            // c: no stationary state on R^d. On a reflecting box one exists, piled against the
            // walls, with a density ratio of about exp(|Re λ| R² / (2 λ_max(D))) between walls and
            // centre (R: the farthest corner from c). Beyond exp(600) it overflows and the solve
            // can only fail: refused; below, solved with a warning. Round-off of LAPACK's
            // eigenvalues is ~1e-15 ‖A‖; −1e-12 ‖A‖ separates it from a real one.
            let eigenvalues = try model.driftMatrix.eigenvalues()
            if let worst = eigenvalues.min(by: { $0.re < $1.re }), worst.re < -1e-12 * max(model.driftMatrix.maxAbs, .leastNormalMagnitude) {
                let centre = model.center
                let reach = grid.axes.enumerated().reduce(0.0) { sum, item in
                    let (k, axis) = item
                    let far = max(abs(axis.lower - centre[k]), abs(axis.upper - centre[k]))
                    return sum + far * far
                }
                let noise = try model.diffusionMatrix.symmetricEigenvalues().last ?? 0
                let exponent = -worst.re * reach / (2 * max(noise, .leastNormalMagnitude))
                let eigenvalue = String(format: "%.6g%@", worst.re, worst.im == 0 ? "" : String(format: " %+.6gi", worst.im))
                if !(exponent <= 600) {
                    throw context.error("model.drift_matrix", String(format:
                        "the drift matrix A has the eigenvalue %@ with negative real part: dz = −A(z − center) dt pushes mass away from the center, so the process has no stationary state, and on this box the density would grow by about e^%.3g toward the walls, beyond what floating point holds; `fpsolve evolve` can follow its transient",
                        eigenvalue, exponent))
                }
                warnings.append("the drift matrix A has the eigenvalue \(eigenvalue) with negative real part: the process has no stationary state on R^d; this is the reflecting box's, piled against its walls")
            }
        }
        if let model = model.linearModel {
            // Unique stationary state on the box needs the noise to reach every direction through
            // the drift (Kalman / Hörmander rank condition for linear drift):
            // rank [D, A D, …, A^{d−1} D] = d.
            var blocks: [Matrix] = [model.diffusionMatrix]
            for _ in 1..<max(grid.dimension, 1) { blocks.append(model.driftMatrix * blocks.last!) }
            var controllability = Matrix(rows: grid.dimension, columns: grid.dimension * blocks.count)
            for (b, block) in blocks.enumerated() {
                for i in 0..<grid.dimension { for j in 0..<grid.dimension { controllability[i, b * grid.dimension + j] = block[i, j] } }
            }
            let rank = try controllability.rank(relativeTolerance: 1e-10)
            if rank < grid.dimension {
                throw context.error("model.diffusion",
                    "the noise reaches only \(rank) of \(grid.dimension) directions, even through the drift (rank of [D, AD, …] is \(rank)), so the stationary state is not unique; add noise or coupling")
            }
        }
        if case .spectral = discretizationSettings {
            // The coefficient system is capped at decoding; what remains is the output grid's
            // fields (≈ 30 doubles a cell).
            let bytes = 30 * 8 * Double(grid.cellCount)
            if bytes > 0.8 * memoryLimit {
                throw context.error("grid.cells", String(format: "the output fields on %@ cells need about %.1f GiB, more than 80%% of this machine's memory; use fewer cells", grid.shape.map(String.init).joined(separator: "×"), bytes / 1_073_741_824))
            }
            return warnings
        }
        switch solver.method {
        case .direct:
            let estimate = DirectSolveCost(grid: grid, ordering: solver.ordering)
            if estimate.bytes > 0.8 * memoryLimit {
                let hint = grid.dimension >= 2 ? "; use fewer cells, or [solve] method = \"iterative\"" : "; use fewer cells"
                throw context.error("grid.cells", String(format:
                    "a direct stationary solve on %@ cells needs about %.1f GiB (estimated LU fill %.2g entries), more than 80%% of this machine's %.1f GiB",
                    grid.shape.map(String.init).joined(separator: "×"), estimate.bytes / 1_073_741_824, estimate.factorNonzeros,
                    memoryLimit / 1_073_741_824) + hint)
            }
        case .iterative:
            try checkIterativeFits(memoryLimit: memoryLimit)
        }
        return warnings
    }
}

extension Problem {
    /// Refuses, before any work, an evolution that is not fully specified or does not fit.
    public func checkEvolvable(memoryLimit: Double = Double(ProcessInfo.processInfo.physicalMemory)) throws -> EvolveSettings {
        let context = decodingContext
        guard let settings = evolve else {
            throw context.error("evolve", "`fpsolve evolve` needs an [evolve] table (t_end, dt, initial; or --t-end and --dt)")
        }
        guard settings.initial != nil else {
            throw context.error("evolve.initial", "missing the initial condition, e.g. initial = { type = \"gaussian\", mean = [...], covariance = [[...]] }")
        }
        if settings.scheme == .spectral {
            throw context.error("evolve.scheme", "the spectral scheme is not implemented yet; use crank-nicolson, bdf2 or implicit-euler")
        }
        guard settings.frames >= 2 else {
            throw context.error("evolve.frames", "at least 2 frames are needed (t = 0 and t_end)")
        }
        guard settings.frames <= EvolveSettings.maximumFrames else {
            throw context.error("evolve.frames", "\(settings.frames) frames is more than the \(EvolveSettings.maximumFrames) a run writes; frames are snapshots to look at, not every step")
        }
        // Each frame interval takes ⌈(t_end/(frames − 1))/dt⌉ steps (dt is shrunk to fit); the
        // exponential scheme one.
        let steps = settings.scheme == .exponential ? Double(settings.frames)
            : (settings.tEnd / settings.dt).rounded(.up) + Double(settings.frames)
        guard steps.isFinite, steps <= EvolveSettings.maximumSteps else {
            throw context.error(settings.tEnd > 1e12 ? "evolve.t_end" : "evolve.dt", String(format:
                "evolve.t_end = %g with evolve.dt = %g needs %.3g steps, more than the %.0e a run allows; choose a larger evolve.dt or a smaller evolve.t_end",
                settings.tEnd, settings.dt, steps, EvolveSettings.maximumSteps))
        }
        if case .spectral = discretizationSettings {
            // The coefficient system is capped at decoding (its LU within about 4 GB); what
            // remains is the output grid's frame fields.
            let frameBytes = Double(grid.cellCount) * 8 * Double(2 + 2 * grid.dimension)
            if frameBytes > 0.5 * memoryLimit {
                throw context.error("grid.cells", String(format: "the output fields on %@ cells need about %.1f GiB a frame, more than half this machine's memory; use fewer cells", grid.shape.map(String.init).joined(separator: "×"), frameBytes / 1_073_741_824))
            }
            return settings
        }
        if solver.method == .iterative {
            // The same preconditioner and matrix as the stationary iterative solve.
            try checkIterativeFits(memoryLimit: memoryLimit)
            return settings
        }
        // One factorization of I − cΔt L: the pattern of L, so the stationary estimate applies.
        let estimate = DirectSolveCost(grid: grid, ordering: solver.ordering)
        let frameBytes = Double(grid.cellCount) * 8 * Double(2 + 2 * grid.dimension)
        if estimate.bytes + frameBytes > 0.8 * memoryLimit {
            throw context.error("grid.cells", String(format: "an implicit evolution on %@ cells needs about %.1f GiB, more than 80%% of this machine's %.1f GiB; use fewer cells",
                grid.shape.map(String.init).joined(separator: "×"), (estimate.bytes + frameBytes) / 1_073_741_824, memoryLimit / 1_073_741_824))
        }
        return settings
    }
}

/// A conservative estimate of what a direct (UMFPACK) stationary solve costs, from the fill of the
/// LU factors measured on this scheme's operators (`fpsolve solve --json`, factor_nonzeros):
///
/// * 2-d, AMD: 200²: 3.4e6, 400²: 1.6e7 — about 7 n log₂ n; 10 n log₂ n is assumed;
/// * 3-d, METIS: 24³: 5.7e6, 32³: 1.9e7, 40³: 4.9e7 — growth n^1.40; 1.9e7 (n/32³)^1.45 assumed;
/// * 4-d, METIS: 10⁴: 7.7e6, 12⁴: 2.5e7, 14⁴: 6.8e7 — growth n^1.6; 2.55e7 (n/12⁴)^1.7 assumed;
/// * AMD in 3-/4-d fills about 3× more than METIS (32³: 5.6e7; 12⁴: 5.9e7).
///
/// UMFPACK's peak memory was 9.7–11.7 bytes per factor entry; 16 are assumed, plus the fields
/// (≈ 30 doubles per cell).
public struct DirectSolveCost: Sendable {
    public let factorNonzeros: Double
    public let bytes: Double

    public init(grid: Grid, ordering: SparseOrdering = .automatic) {
        let n = Double(grid.cellCount)
        var fill: Double
        switch grid.dimension {
        case 1: fill = 5 * n
        case 2: fill = 10 * n * log2(max(n, 2))
        case 3: fill = 1.9e7 * pow(n / 32_768, 1.45)
        default: fill = 2.55e7 * pow(n / 20_736, 1.7)
        }
        if grid.dimension >= 3 && ordering.resolved(dimension: grid.dimension) != .metis { fill *= 3 }
        factorNonzeros = fill
        bytes = 16 * fill + 30 * 8 * n
    }
}

extension Problem {
    /// The iterative method's limits: at least 2 axes, each group of the separable preconditioner
    /// small enough for a dense eigen-decomposition, and the matrix and Krylov basis in memory.
    func checkIterativeFits(memoryLimit: Double) throws {
        let context = decodingContext
        guard grid.dimension >= 2 else {
            throw context.error("solve.method", "the iterative method splits the axes into two groups and needs at least 2 axes; a 1-d problem is solved directly in no time (method = \"direct\")")
        }
        do {
            _ = try SeparableDecomposition.split(grid: grid, model: model.coefficients)
        } catch let FokkerPlanckError.badInput(_, _, _, message) {
            throw context.error("solve.method", message)
        }
        // The preconditioner's groups hold ⌊d/2⌋ and ⌈d/2⌉ axes; the larger must stay dense-tractable.
        let sorted = grid.shape.sorted(by: >)
        let largestGroup = sorted.prefix((grid.dimension + 1) / 2).reduce(1, *)
        if largestGroup > SeparableDecomposition.maxGroupCells {
            throw context.error("grid.cells", "the iterative solver's preconditioner needs a dense eigen-decomposition on each half of the axes; \(grid.shape.map(String.init).joined(separator: "×")) can put up to \(largestGroup) cells in one half, more than \(SeparableDecomposition.maxGroupCells); use fewer cells")
        }
        // Matrix (≤ 1 + 2d + 4d(d−1) entries a row, 16 bytes each), GMRES basis and work vectors,
        // dense eigenbases.
        let n = Double(grid.cellCount), d = Double(grid.dimension)
        let bytes = n * (1 + 2 * d + 4 * d * (d - 1)) * 16 + Double(solver.krylov.restart + 8) * n * 8
            + 4 * Double(largestGroup * largestGroup) * 8
        if bytes > 0.8 * memoryLimit {
            throw context.error("grid.cells", String(format: "an iterative solve on %@ cells needs about %.1f GiB, more than 80%% of this machine's %.1f GiB; use fewer cells or a smaller [solve] restart",
                grid.shape.map(String.init).joined(separator: "×"), bytes / 1_073_741_824, memoryLimit / 1_073_741_824))
        }
    }
}
