import CLapack
import Foundation

/// The pieces of a preconditioner for the generator L of a 2–4-d problem: the exact inverse of its
/// nearest *separable* operator M = L₁ ⊕ L₂ = L₁ ⊗ I + I ⊗ L₂ (or of σ I + τ M, for time steps).
///
/// The axes are split into two groups (for SGD with momentum p = 2: (θ₁, v₁) and (θ₂, v₂)); L_g is
/// the same scheme's generator on the sub-grid of group g, for the model with the other group's
/// coordinates frozen at a reference point and the cross-group diffusion dropped. When the model
/// does not couple the groups (a diagonal Hessian with Σ = σ²H) M is L itself; otherwise L − M is
/// the coupling (the off-diagonal K θ, D_v across groups), which GMRES then has to resolve.
///
/// M is inverted through the real eigen-decompositions L_g = V_g B_g V_g⁻¹ (B_g block diagonal:
/// 1×1 for real eigenvalues, [[α, β], [−β, α]] for a pair α ± iβ — the rotations of phase space):
/// with the unknown arranged as an m₁ × m₂ matrix X (rows: group-1 cells, columns: group-2 cells),
/// M X = L₁ X + X L₂ᵀ, so
///
///     X = V₁ · S⁻¹[ V₁⁻¹ R V₂⁻ᵀ ] · V₂ᵀ,   S(Y) = B₁ Y + Y B₂ᵀ,
///
/// four dense matrix products (BLAS-3) and one small solve per pair of blocks. The zero
/// eigenvalues of L₁ and L₂ (their stationary states) make S singular for one pair; that pair is
/// given the slowest decay rate of all the others instead (M⁻¹ is only a preconditioner, and the
/// pinned system GMRES solves is not singular). The eigenvector bases of these non-normal
/// operators are ill-conditioned (cond V ~ 1e4 at 24², 1e6 at 32², measured) — harmless for a
/// preconditioner, whose accuracy GMRES does not need beyond a few digits.
public final class SeparableDecomposition: @unchecked Sendable {
    /// The grid axes of the two groups.
    public let groups: [[Int]]
    /// The axis names of each group.
    public let groupNames: [[String]]
    let sizes: (Int, Int)
    /// Grid cell → row-major position in the m₁ × m₂ matrix X.
    let placement: [Int]
    let forward: (Matrix, Matrix)   // V₁⁻¹, V₂⁻¹
    let backward: (Matrix, Matrix)  // V₁, V₂
    let blocks: ([Block], [Block])
    let spectralRadius: Double
    /// The stationary densities of the two sub-operators (null vectors of L₁, L₂), for an initial
    /// guess ρ₁ ⊗ ρ₂ in grid order.
    public let productGuess: [Double]
    public let setupSeconds: Double
    public var memoryBytes: Double {
        let dense = 2 * (sizes.0 * sizes.0 + sizes.1 * sizes.1)
        return Double(dense + 4 * blocks.0.count * blocks.1.count + placement.count) * 8
    }

    struct Block { let start: Int; let size: Int; let alpha: Double; let beta: Double }

    /// The largest group (cells) whose dense eigen-decomposition is accepted: 4096 (64² cells per
    /// pair of axes) took 38 s and ~1 GiB here (ou3d at 64³, group (x, y)); 1024 (32²) about 1 s.
    public static let maxGroupCells = 4096

    public init(scheme: FiniteVolumeScheme) throws {
        let start = DispatchTime.now()
        let grid = scheme.grid, d = grid.dimension
        guard d >= 2 else { throw FokkerPlanckError.solverFailed("the separable preconditioner needs at least 2 axes") }
        let reference = Self.referencePoint(grid: grid, model: scheme.model)
        groups = try Self.split(grid: grid, model: scheme.model)
        groupNames = groups.map { $0.map { grid.axes[$0].name } }
        var operators: [SparseMatrix] = [], subGrids: [Grid] = []
        for group in groups {
            // A specular wall needs its velocity axis in the same group; without it the
            // preconditioner's piece is closed by a zero-flux wall instead.
            let subGrid = Grid(axes: group.map { k in
                let axis = grid.axes[k]
                guard axis.boundary == .specular, let m = scheme.model.velocityAxis(pairedWith: k), !group.contains(m) else { return axis }
                return Axis(name: axis.name, lower: axis.lower, upper: axis.upper, cells: axis.cells, boundary: .reflecting)
            })
            guard subGrid.cellCount <= Self.maxGroupCells else {
                throw FokkerPlanckError.solverFailed("the iterative solver's preconditioner would need a dense \(subGrid.cellCount)² eigen-decomposition (more than \(Self.maxGroupCells) cells on the axes \(group.map { grid.axes[$0].name }.joined(separator: ", "))); use fewer cells")
            }
            let model = RestrictedModel(base: scheme.model, axes: group, frozen: reference)
            let subScheme = FiniteVolumeScheme(grid: subGrid, model: model, driftFlux: scheme.driftFlux)
            operators.append(subScheme.assemble())
            subGrids.append(subGrid)
        }
        sizes = (subGrids[0].cellCount, subGrids[1].cellCount)

        // Where each grid cell sits in X.
        var placement = [Int](repeating: 0, count: grid.cellCount)
        var index = [Int](repeating: 0, count: d)
        for c in 0..<grid.cellCount {
            grid.multiIndex(c, into: &index)
            var rows = 0, columns = 0
            for k in groups[0] { rows = rows * grid.shape[k] + index[k] }
            for k in groups[1] { columns = columns * grid.shape[k] + index[k] }
            placement[c] = rows * sizes.1 + columns
        }
        self.placement = placement

        let first = try Self.realEigenDecomposition(operators[0])
        let second = try Self.realEigenDecomposition(operators[1])
        forward = (first.inverse, second.inverse)
        backward = (first.vectors, second.vectors)
        blocks = (first.blocks, second.blocks)
        spectralRadius = first.spectralRadius + second.spectralRadius

        // Initial guess: the product of the two sub-operators' stationary densities.
        let rho1 = first.nullVector, rho2 = second.nullVector
        var guess = [Double](repeating: 0, count: grid.cellCount)
        for c in 0..<grid.cellCount {
            let p = placement[c]
            guess[c] = rho1[p / sizes.1] * rho2[p % sizes.1]
        }
        productGuess = guess
        setupSeconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) * 1e-9
    }

    /// The preconditioner for σ I + τ L: the exact inverse of σ I + τ (L₁ ⊕ L₂). σ = 0, τ = 1 is
    /// the stationary problem (its singular pair regularised, see the type's notes); σ = 1,
    /// τ = −cΔt the step matrix of an implicit scheme.
    public func preconditioner(identity sigma: Double = 0, generator tau: Double = 1) throws -> SeparablePreconditioner {
        try SeparablePreconditioner(decomposition: self, identity: sigma, generator: tau)
    }
    // MARK: Set-up

    /// Where the other group's coordinates are frozen: the centre of a linear model (its
    /// stationary mean), else the centre of the box.
    static func referencePoint(grid: Grid, model: any DriftDiffusionModel) -> [Double] {
        if let linear = model as? LinearModel { return linear.center }
        return grid.axes.map { 0.5 * ($0.lower + $0.upper) }
    }

    /// The two groups of axes the preconditioner uses (see `chooseGroups`), or an error when the
    /// split leaves an axis without noise (pure transport) in a group where nothing drives it: its
    /// sub-operator is then (nearly) zero and M is no approximation of L — 2-d phase space (θ, v),
    /// which can only be split into {θ} and {v}, is the case (and is solved directly in no time).
    public static func split(grid: Grid, model: any DriftDiffusionModel) throws -> [[Int]] {
        let point = referencePoint(grid: grid, model: model)
        let (groups, jacobian) = chooseGroups(grid: grid, model: model, at: point)
        let d = grid.dimension
        let diffusion = model.diffusion(at: point).elements
        for group in groups {
            for k in group where diffusion[k * d + k] == 0 && group.allSatisfy({ jacobian[k * d + $0] == 0 }) {
                throw FokkerPlanckError.badInput(file: nil, keyPath: "solve.method", line: nil, message:
                    "the iterative method's preconditioner splits the axes into (\(groups[0].map { grid.axes[$0].name }.joined(separator: ", "))) and (\(groups[1].map { grid.axes[$0].name }.joined(separator: ", "))), which leaves \(grid.axes[k].name) (no noise) without the axes that move it, so it cannot precondition this problem; use method = \"direct\"")
            }
        }
        return groups
    }

    /// The balanced split of the axes (⌊d/2⌋ and ⌈d/2⌉) that the model couples least: coupling of
    /// axes i, j is |∂μ_i/∂x_j| ℓ_j/ℓ_i + |∂μ_j/∂x_i| ℓ_i/ℓ_j + 2|D_ij|/(ℓ_i ℓ_j) (ℓ: box lengths, so
    /// that the weights compare rates), summed over the pairs the split separates.
    static func chooseGroups(grid: Grid, model: any DriftDiffusionModel, at point: [Double]) -> (groups: [[Int]], jacobian: [Double]) {
        let d = grid.dimension
        let lengths = grid.axes.map(\.length)
        var jacobian = [Double](repeating: 0, count: d * d)
        let base = model.drift(at: point)
        for j in 0..<d {
            var shifted = point
            let step = 1e-6 * lengths[j]
            shifted[j] += step
            let mu = model.drift(at: shifted)
            for i in 0..<d { jacobian[i * d + j] = (mu[i] - base[i]) / step }
        }
        let diffusion = model.diffusion(at: point).elements
        func weight(_ i: Int, _ j: Int) -> Double {
            abs(jacobian[i * d + j]) * lengths[j] / lengths[i] + abs(jacobian[j * d + i]) * lengths[i] / lengths[j]
                + 2 * abs(diffusion[i * d + j]) / (lengths[i] * lengths[j])
        }
        var best: (cut: Double, group: [Int]) = (.infinity, [])
        let size = d / 2
        for mask in 0..<(1 << d) where mask.nonzeroBitCount == size {
            let group = (0..<d).filter { mask & (1 << $0) != 0 }
            var cut = 0.0
            for i in group { for j in 0..<d where mask & (1 << j) == 0 { cut += weight(i, j) } }
            // The first split is taken whatever its cut, so that a non-finite Jacobian (a drift
            // singular at the reference point) still gives two groups, never an empty one.
            if best.group.isEmpty || cut < best.cut { best = (cut, group) }
        }
        let other = (0..<d).filter { !best.group.contains($0) }
        return ([best.group, other], jacobian)
    }

    struct Decomposition {
        let vectors: Matrix
        let inverse: Matrix
        let blocks: [Block]
        let spectralRadius: Double
        /// The eigenvector of the eigenvalue nearest 0, scaled to sum 1.
        let nullVector: [Double]
    }

    /// L = V B V⁻¹ with B real block diagonal (LAPACK dgeev, then dgesv for V⁻¹).
    static func realEigenDecomposition(_ sparse: SparseMatrix) throws -> Decomposition {
        let m = sparse.rows
        var dense = [Double](repeating: 0, count: m * m)
        for j in 0..<m {
            for p in sparse.columnStarts[j]..<sparse.columnStarts[j + 1] { dense[sparse.rowIndices[p] * m + j] = sparse.values[p] }
        }
        var wr = [Double](repeating: 0, count: m), wi = [Double](repeating: 0, count: m)
        var vr = [Double](repeating: 0, count: m * m), vl = [Double](repeating: 0, count: 1)
        let info = LAPACKE_dgeev(fp_lapack_row_major(), Int8(UInt8(ascii: "N")), Int8(UInt8(ascii: "V")), Int32(m),
                                 &dense, Int32(m), &wr, &wi, &vl, 1, &vr, Int32(m))
        if info != 0 { throw LinearAlgebraError.lapack(routine: "dgeev", info: info) }
        var blocks: [Block] = []
        var i = 0
        while i < m {
            if wi[i] != 0 && i + 1 < m {
                blocks.append(Block(start: i, size: 2, alpha: wr[i], beta: wi[i]))
                i += 2
            } else {
                blocks.append(Block(start: i, size: 1, alpha: wr[i], beta: 0))
                i += 1
            }
        }
        let vectors = Matrix(rows: m, columns: m, elements: vr)
        let inverse = try vectors.inverse()
        let radius = (0..<m).map { hypot(wr[$0], wi[$0]) }.max() ?? 0
        let zero = (0..<m).filter { wi[$0] == 0 }.min { abs(wr[$0]) < abs(wr[$1]) } ?? 0
        var null = (0..<m).map { vr[$0 * m + zero] }
        let total = null.reduce(0, +)
        if total != 0 { null = null.map { $0 / total } }
        return Decomposition(vectors: vectors, inverse: inverse, blocks: blocks, spectralRadius: radius, nullVector: null)
    }

    /// The inverse of vec(Y) ↦ vec(B₁ Y + Y B₂ᵀ) for blocks of sizes s₁, s₂ (Y is s₁ × s₂, row-major).
    static func pairInverse(_ b1: Block, _ b2: Block, identity sigma: Double, generator tau: Double) throws -> [Double] {
        func matrix(_ b: Block) -> [Double] { b.size == 1 ? [b.alpha] : [b.alpha, b.beta, -b.beta, b.alpha] }
        let m1 = matrix(b1), m2 = matrix(b2)
        let s1 = b1.size, s2 = b2.size, s = s1 * s2
        var operator_ = Matrix(rows: s, columns: s)
        for a in 0..<s1 {
            for b in 0..<s2 {
                let row = a * s2 + b
                operator_[row, row] += sigma
                for c in 0..<s1 { operator_[row, c * s2 + b] += tau * m1[a * s1 + c] }   // (B₁ Y)_ab = Σ_c B₁_ac Y_cb
                for c in 0..<s2 { operator_[row, a * s2 + c] += tau * m2[b * s2 + c] }   // (Y B₂ᵀ)_ab = Σ_c Y_ac B₂_bc
            }
        }
        return try operator_.inverse().elements
    }
}

/// M⁻¹ for M = σ I + τ (L₁ ⊕ L₂), from a `SeparableDecomposition`: in the eigenbases, one small
/// solve per pair of blocks, with the operator vec(Y) ↦ vec(σ Y + τ (B₁ Y + Y B₂ᵀ)).
public struct SeparablePreconditioner: Preconditioner {
    public let decomposition: SeparableDecomposition
    /// For each pair (block of group 1, block of group 2), the inverse of the small operator,
    /// row-major, at `inverseOffsets`.
    let inverses: [Double]
    let inverseOffsets: [Int]

    init(decomposition: SeparableDecomposition, identity sigma: Double, generator tau: Double) throws {
        self.decomposition = decomposition
        let (first, second) = decomposition.blocks
        // With σ = 0 the pair of zero eigenvalues (both stationary states) is singular: it is given
        // the slowest decay rate of all the other pairs instead.
        let scale = max(decomposition.spectralRadius, .leastNormalMagnitude)
        var slowest = Double.infinity
        var singular = Set<Int>()
        if sigma == 0 {
            for (i, b1) in first.enumerated() {
                for (j, b2) in second.enumerated() {
                    let rate = abs(b1.alpha + b2.alpha)
                    if b1.size == 1 && b2.size == 1 && rate <= 1e-9 * scale { singular.insert(i * second.count + j); continue }
                    slowest = min(slowest, b1.size == 1 && b2.size == 1 ? rate : hypot(rate, abs(b1.beta) + abs(b2.beta)))
                }
            }
            if !slowest.isFinite { slowest = scale }
        }
        var inverses: [Double] = [], offsets: [Int] = []
        inverses.reserveCapacity(first.count * second.count * 4)
        offsets.reserveCapacity(first.count * second.count)
        for (i, b1) in first.enumerated() {
            for (j, b2) in second.enumerated() {
                offsets.append(inverses.count)
                if singular.contains(i * second.count + j) {
                    inverses.append(-1 / (tau * slowest))
                    continue
                }
                inverses += try SeparableDecomposition.pairInverse(b1, b2, identity: sigma, generator: tau)
            }
        }
        self.inverses = inverses
        inverseOffsets = offsets
    }

    // MARK: Application

    public func apply(_ r: [Double]) -> [Double] {
        let (m1, m2) = decomposition.sizes
        var x = [Double](repeating: 0, count: m1 * m2)
        for c in 0..<r.count { x[decomposition.placement[c]] = r[c] }
        var t = [Double](repeating: 0, count: m1 * m2)
        // Y = V₁⁻¹ X V₂⁻ᵀ
        gemm(decomposition.forward.0.elements, m1, m1, x, m2, into: &t, transposeB: false)
        gemm(t, m1, m2, decomposition.forward.1.elements, m2, into: &x, transposeB: true)
        // Y' = S⁻¹ Y, block pair by block pair.
        var pair = 0
        var local = [Double](repeating: 0, count: 4), solved = [Double](repeating: 0, count: 4)
        for b1 in decomposition.blocks.0 {
            for b2 in decomposition.blocks.1 {
                let offset = inverseOffsets[pair]
                pair += 1
                let s = b1.size * b2.size
                for a in 0..<b1.size { for b in 0..<b2.size { local[a * b2.size + b] = x[(b1.start + a) * m2 + b2.start + b] } }
                for p in 0..<s {
                    var sum = 0.0
                    for q in 0..<s { sum += inverses[offset + p * s + q] * local[q] }
                    solved[p] = sum
                }
                for a in 0..<b1.size { for b in 0..<b2.size { x[(b1.start + a) * m2 + b2.start + b] = solved[a * b2.size + b] } }
            }
        }
        // X = V₁ Y' V₂ᵀ
        gemm(decomposition.backward.0.elements, m1, m1, x, m2, into: &t, transposeB: false)
        gemm(t, m1, m2, decomposition.backward.1.elements, m2, into: &x, transposeB: true)
        var z = [Double](repeating: 0, count: r.count)
        for c in 0..<r.count { z[c] = x[decomposition.placement[c]] }
        return z
    }

    /// C (rows × columns) = A (rows × inner) · B or Bᵀ, row-major; B is inner × columns (or
    /// columns × inner when transposed).
    private func gemm(_ a: [Double], _ rows: Int, _ inner: Int, _ b: [Double], _ columns: Int,
                      into c: inout [Double], transposeB: Bool) {
        cblas_dgemm(CblasRowMajor, CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                    Int32(rows), Int32(columns), Int32(inner), 1, a, Int32(inner),
                    b, Int32(transposeB ? inner : columns), 0, &c, Int32(columns))
    }

}

/// A model restricted to some of its axes, the others frozen at a point, cross-group diffusion
/// dropped: the pieces of the separable approximation.
struct RestrictedModel: DriftDiffusionModel {
    let base: any DriftDiffusionModel
    let axes: [Int]
    let frozen: [Double]

    var dimension: Int { axes.count }
    var temperature: Double { base.temperature }
    var hasConstantDiffusion: Bool { base.hasConstantDiffusion }
    var hasAffineDrift: Bool { base.hasAffineDrift }
    var hasEquilibriumPotential: Bool { base.hasEquilibriumPotential }

    func equilibriumGradient(at x: [Double], into g: inout [Double]) {
        var full = frozen
        for (k, axis) in axes.enumerated() { full[axis] = x[k] }
        var all = [Double](repeating: 0, count: base.dimension)
        base.equilibriumGradient(at: full, into: &all)
        for (k, axis) in axes.enumerated() { g[k] = all[axis] }
    }

    func velocityAxis(pairedWith k: Int) -> Int? {
        base.velocityAxis(pairedWith: axes[k]).flatMap { axes.firstIndex(of: $0) }
    }

    func drift(at x: [Double], into mu: inout [Double]) {
        var full = frozen
        for (k, axis) in axes.enumerated() { full[axis] = x[k] }
        let all = base.drift(at: full)
        for (k, axis) in axes.enumerated() { mu[k] = all[axis] }
    }

    func diffusion(at x: [Double], into d: inout [Double]) {
        var full = frozen
        for (k, axis) in axes.enumerated() { full[axis] = x[k] }
        let all = base.diffusion(at: full).elements
        let n = base.dimension
        for (a, i) in axes.enumerated() { for (b, j) in axes.enumerated() { d[a * axes.count + b] = all[i * n + j] } }
    }
}

extension SeparableDecomposition: ShiftedPreconditioning {
    public func preconditioner(identity alpha: Double, generator beta: Double) throws -> any Preconditioner {
        try preconditioner(identity: alpha, generator: beta) as SeparablePreconditioner
    }

    public var stationaryGuess: [Double]? { productGuess }

    public var preconditionerSummary: String {
        let names = groupNames.map { "(" + $0.joined(separator: ", ") + ")" }
        return "exact inverse of the separable L\(names[0]) ⊕ L\(names[1]) (set up in \(String(format: "%.2f", setupSeconds)) s)"
    }
}
