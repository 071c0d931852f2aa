import Foundation

/// Spectral Galerkin discretization of an Ornstein–Uhlenbeck model (`LinearModel`) on the bounded
/// box of `[grid]`, one `LegendreAxis` per axis: ρ(z) = Σ_n c_n Π_k φ_{n_k}(ξ_k), polynomials of
/// degree < modes_k in each ξ_k = (z_k − mid_k)/half_k.
///
/// The equation is imposed in weak form: for every test function Ψ of the same space,
///
///     d/dt ∫ Ψ ρ = ∫ ∇Ψ · J(ρ) − ∮ Ψ J·n,   J = μρ − D∇ρ,
///
/// and the wall term vanishes on both kinds of wall — a reflecting wall's J·n = 0 is the natural
/// condition of this form, an absorbing wall's test functions vanish on it (ρ = 0 is built into
/// the basis, exactly). This gives M dc/dt = L c with the mass matrix M = ∫ΨΦ and L = ∫∇Ψ·J(Φ),
/// both sums of Kronecker products of the banded one-axis matrices (sparse). Conservation is
/// structural: the test function Ψ = 1 (all axes reflecting) has ∇Ψ = 0, so its row of L is
/// exactly zero and d/dt ∫ρ = 0 to round-off, for the stationary solve (which replaces that row
/// by ∫ρ = 1) and for every time step.
///
/// Why Legendre and not Chebyshev: the unweighted weak form is what makes zero flux natural and
/// conservation exact, and in it only Legendre polynomials are orthogonal — Chebyshev
/// polynomials would make every one-axis matrix dense (and their products with them); a Chebyshev
/// tau method conserves mass only up to the tau residual.
public struct LegendreDiscretization: Discretization {
    /// The OU model, whose operator is a sum of Kronecker products of banded matrices; nil for
    /// an expression model, whose operator comes from `quadrature`.
    public let linear: LinearModel?
    let quadrature: LegendreQuadrature?
    public let model: any DriftDiffusionModel
    public let grid: Grid
    public let modes: [Int]
    let axes: [LegendreAxis]
    let matrices: [LegendreAxis.Matrices]
    /// Basis functions per axis, and the strides of the (row-major) coefficient tensor.
    let sizes: [Int]
    let strides: [Int]
    /// The basis named per axis (legendre, chebyshev or fourier).
    let basisNames: [String]
    /// On a `chebyshev` axis, the Chebyshev coefficients of each basis function
    /// (`LegendreAxis.chebyshevCoefficients`): what `recordedCoefficients` writes. nil elsewhere.
    let chebyshevTables: [[[Double]]?]

    /// An expression model (`GeneralModel`, 1-d or 2-d): the operator by quadrature
    /// (`LegendreQuadrature`), on `legendre` axes (walls) and `fourier` axes (periodic) — `basis`,
    /// one per axis, all legendre if nil.
    public init(general: GeneralModel, grid: Grid, modes: [Int], basis: [String]? = nil) throws {
        guard general.dimension <= 2 else {
            throw FokkerPlanckError.badInput(file: nil, keyPath: "discretization.basis", line: nil,
                message: "the legendre and fourier bases take expression models (state-dependent D) in 1-d and 2-d; this one has \(general.dimension) axes: use type = \"finite-volume\"")
        }
        let count = modes.reduce(1, *)
        guard count <= LegendreQuadrature.maximumCoefficients else {
            throw FokkerPlanckError.badInput(file: nil, keyPath: "discretization.modes", line: nil,
                message: "\(count) spectral coefficients for an expression model is more than \(LegendreQuadrature.maximumCoefficients): its operator is dense (every coefficient meets every other through the non-polynomial coefficients); use fewer modes")
        }
        let quadrature = LegendreQuadrature(model: general)
        try self.init(model: general, linear: nil, quadrature: quadrature, grid: grid, modes: modes,
                      basis: basis ?? Array(repeating: "legendre", count: general.dimension))
        try quadrature.checkDiffusion(axes: axes, grid: grid)
        try quadrature.checkPeriodic(axes: axes, grid: grid)
    }

    public init(model: LinearModel, grid: Grid, modes: [Int], basis: [String]? = nil) throws {
        try self.init(model: model, linear: model, quadrature: nil, grid: grid, modes: modes,
                      basis: basis ?? Array(repeating: "legendre", count: model.dimension))
    }

    private init(model: any DriftDiffusionModel, linear: LinearModel?, quadrature: LegendreQuadrature?, grid: Grid, modes: [Int], basis: [String]) throws {
        let d = model.dimension
        precondition(grid.dimension == d && modes.count == d && basis.count == d)
        guard modes.allSatisfy({ $0 >= 3 }) else {
            throw FokkerPlanckError.badInput(file: nil, keyPath: "discretization.modes", line: nil,
                                             message: "every legendre axis needs at least 3 modes, found \(modes)")
        }
        for (axis, name) in zip(grid.axes, basis) {
            switch name {
            case "fourier":
                guard axis.boundary == .periodic else {
                    throw FokkerPlanckError.badInput(file: nil, keyPath: "grid.boundary", line: nil,
                        message: "the fourier basis is periodic on [lower, upper), but '\(axis.name)' has \(axis.boundary.rawValue) walls; make it periodic, or give it the legendre basis")
                }
                guard linear == nil else {
                    throw FokkerPlanckError.badInput(file: nil, keyPath: "discretization.basis", line: nil,
                        message: "a linear drift is not periodic: the fourier basis takes expression models (general, sgd with a loss, power-law) on periodic axes")
                }
            case "legendre", "chebyshev":
                guard axis.boundary == .reflecting || axis.boundary == .absorbing else {
                    throw FokkerPlanckError.badInput(file: nil, keyPath: "grid.boundary", line: nil,
                        message: "the \(name) basis is for bounded axes with reflecting or absorbing walls; '\(axis.name)' is \(axis.boundary.rawValue)" + (axis.boundary == .periodic ? " (a periodic axis takes the fourier basis)" : ""))
                }
            default:
                preconditionFailure("LegendreDiscretization takes legendre and fourier axes, not \(name)")
            }
        }
        for axis in grid.axes where !(max(abs(axis.lower), abs(axis.upper)) < 1e100) {
            // The moments square the coordinates: beyond this they overflow to ∞ and NaN.
            throw FokkerPlanckError.badInput(file: nil, keyPath: "grid.lower", line: nil,
                message: "the legendre basis needs box coordinates below 1e100 in size (its moments square them); '\(axis.name)' spans [\(axis.lower), \(axis.upper)]")
        }
        self.linear = linear
        self.quadrature = quadrature
        self.model = model
        self.grid = grid
        self.modes = modes
        axes = (0..<d).map { k in
            let axis = grid.axes[k]
            return basis[k] == "fourier"
                ? LegendreAxis(periodicLower: axis.lower, upper: axis.upper, modes: modes[k])
                : LegendreAxis(lower: axis.lower, upper: axis.upper, modes: modes[k],
                               lowerAbsorbing: axis.boundary == .absorbing, upperAbsorbing: axis.boundary == .absorbing)
        }
        matrices = axes.map { $0.matrices() }
        basisNames = basis
        chebyshevTables = zip(axes, basis).map { $1 == "chebyshev" ? $0.chebyshevCoefficients() : nil }
        sizes = axes.map(\.count)
        var strides = [Int](repeating: 1, count: d)
        for k in stride(from: d - 2, through: 0, by: -1) { strides[k] = strides[k + 1] * sizes[k + 1] }
        self.strides = strides
    }

    public var stateCount: Int { sizes.reduce(1, *) }
    var dimension: Int { grid.dimension }

    /// Axis k's position (in its basis) of a flat state index.
    func position(_ flat: Int, axis k: Int) -> Int { (flat / strides[k]) % sizes[k] }

    /// The multi-index (positions in each axis' basis) of a flat state index.
    func multiIndex(_ flat: Int) -> [Int] {
        (0..<dimension).map { position(flat, axis: $0) }
    }

    // MARK: Operators

    /// One Kronecker term c ⊗_k F_k of an operator.
    typealias Term = (coefficient: Double, factors: [LegendreAxis.Banded])

    /// The terms of L in ξ (the Jacobian Π half_k, common to L and M, left out of both). With
    /// μ_a = β_a − Σ_b A_ab half_b ξ_b (β = −A(mid − centre)) and ∂_{z_a} = ∂_{ξ_a}/half_a:
    ///
    ///     L = Σ_a (β_a/h_a) G_a − Σ_ab (A_ab h_b/h_a) G_a X_b − Σ_ab (D_ab/(h_a h_b)) G_a Gᵀ_b
    ///
    /// where G_a puts the test derivative on axis a (∫φ′φ; with X_a on the same axis ∫φ′ξφ), X_b the
    /// factor ξ_b, Gᵀ_b the trial derivative (∫φφ′; with G_b on the same axis the stiffness ∫φ′φ′),
    /// and every other axis the mass ∫φφ.
    func generatorTerms() -> [Term] {
        let d = dimension
        let h = axes.map(\.half)
        let linear = self.linear!
        let a = linear.driftMatrix, diffusion = linear.diffusionMatrix
        let beta = (0..<d).map { i in -(0..<d).reduce(0) { $0 + a[i, $1] * (axes[$1].mid - linear.center[$1]) } }
        func factors(_ pick: (Int) -> LegendreAxis.Banded?) -> [LegendreAxis.Banded] {
            (0..<d).map { pick($0) ?? matrices[$0].mass }
        }
        var terms: [Term] = []
        for i in 0..<d {
            if beta[i] != 0 { terms.append((beta[i] / h[i], factors { $0 == i ? matrices[i].gradient : nil })) }
            for j in 0..<d where a[i, j] != 0 {
                let c = -a[i, j] * h[j] / h[i]
                if i == j {
                    terms.append((c, factors { $0 == i ? matrices[i].gradientPosition : nil }))
                } else {
                    terms.append((c, factors { $0 == i ? matrices[i].gradient : ($0 == j ? matrices[j].position : nil) }))
                }
            }
            for j in 0..<d where diffusion[i, j] != 0 {
                let c = -diffusion[i, j] / (h[i] * h[j])
                if i == j {
                    terms.append((c, factors { $0 == i ? matrices[i].stiffness : nil }))
                } else {
                    terms.append((c, factors { $0 == i ? matrices[i].gradient : ($0 == j ? matrices[j].gradientTransposed : nil) }))
                }
            }
        }
        return terms
    }

    /// Σ_t c_t ⊗_k F_{t,k}, assembled row by row.
    func kronecker(_ terms: [Term]) -> SparseMatrix {
        let d = dimension, n = stateCount
        var builder = SparseRowBuilder(rows: n, columns: n, estimatedNonzeros: n * min(9 * terms.count, 5 * 5 * 5))
        var index = [Int](repeating: 0, count: d)
        for row in 0..<n {
            for k in 0..<d { index[k] = position(row, axis: k) }
            for term in terms {
                func visit(_ k: Int, _ column: Int, _ product: Double) {
                    if k == d { builder.add(column: column, product); return }
                    for entry in term.factors[k][index[k]] {
                        visit(k + 1, column + entry.column * strides[k], product * entry.value)
                    }
                }
                visit(0, 0, term.coefficient)
            }
            builder.endRow()
        }
        return builder.build()
    }

    public func assemble() -> SparseMatrix {
        if let quadrature { return quadrature.generator(axes: axes, sizes: sizes, strides: strides) }
        return kronecker(generatorTerms())
    }

    /// M = ⊗_k ∫φφ (in ξ, the Jacobian left out as in L).
    public func massMatrix() -> SparseMatrix? { kronecker([(1, matrices.map(\.mass))]) }

    /// c · Π_k v_k[n_k] for the multi-index n of a flat state index, one vector per axis.
    func product(_ flat: Int, _ vectors: [[Double]], times c: Double) -> Double {
        var product = c
        for k in 0..<dimension {
            product *= vectors[k][position(flat, axis: k)]
            if product == 0 { break }
        }
        return product
    }

    /// Σ_n c_n Π_k v_k[n_k] for one vector per axis.
    func contract(_ state: [Double], _ vectors: [[Double]]) -> Double {
        var total = 0.0
        for (flat, c) in state.enumerated() where c != 0 { total += product(flat, vectors, times: c) }
        return total
    }

    /// ∫ρ dz = Π half_k Σ_n c_n Π ∫φ_{n_k}: only φ_0 and φ_2 (and the vertex functions) have mass.
    public func mass(of state: [Double]) -> Double {
        jacobian * contract(state, matrices.map { $0.moments[0] })
    }

    var jacobian: Double { axes.reduce(1) { $0 * $1.half } }

    /// The stationary solve replaces the (zero) row of the test function 1 by ∫ρ = 1 — a row with
    /// 2^d non-zeros (φ_0 and φ_2 per axis); there is no such row, and no stationary state, when an
    /// axis absorbs (the solver refuses those first).
    public var normalisationRow: (row: Int, entries: [(column: Int, value: Double)])? {
        guard axes.allSatisfy({ $0.labels.first == 0 }) else { return nil }
        let integrals = matrices.map { $0.moments[0] }
        return (0, (0..<stateCount).compactMap { flat in
            let value = product(flat, integrals, times: jacobian)
            return value != 0 ? (flat, value) : nil
        })
    }

    // MARK: Fields on the output grid

    /// Σ_n c_n Π φ_{n_k}(ξ_k) at the output grid's cell centres, with axis `derivative` (if any)
    /// differentiated in z.
    func evaluate(_ state: [Double], derivative: Int? = nil, on grid: Grid? = nil) -> [Double] {
        let grid = grid ?? self.grid
        let axes = self.axes
        let evaluation = TensorEvaluation(grid: grid, sizes: sizes) { k, z, _, values in
            let xi = (z - axes[k].mid) / axes[k].half
            if k == derivative {
                var slopes = [Double](repeating: 0, count: values.count)
                axes[k].evaluate(xi, values: &slopes, derivatives: &values)
                for i in values.indices { values[i] /= axes[k].half }
            } else {
                axes[k].evaluate(xi, values: &values)
            }
            return xi
        }
        return evaluation.evaluate(state)
    }

    public func density(of state: [Double]) -> [Double] { evaluate(state) }

    /// J_a = μ_a ρ − Σ_b D_ab ∂_b ρ at the cell centres, from the expansion (for an expression
    /// model (μ − ∇·D)_a ρ − Σ_b D_ab(z) ∂_b ρ).
    public func currents(of state: [Double]) -> [[Double]] {
        let d = dimension
        let rho = evaluate(state)
        let slopes = (0..<d).map { evaluate(state, derivative: $0) }
        var z = [Double](repeating: 0, count: d)
        guard let linear else {
            var values = [Double](repeating: 0, count: d * d)
            var result = [[Double]](repeating: [Double](repeating: 0, count: grid.cellCount), count: d)
            for c in 0..<grid.cellCount {
                grid.centre(c, into: &z)
                let a = quadrature!.transport(z)
                model.diffusion(at: z, into: &values)
                for i in 0..<d {
                    var j = a[i] * rho[c]
                    for b in 0..<d { j -= values[i * d + b] * slopes[b][c] }
                    result[i][c] = j
                }
            }
            return result
        }
        let drift = linear.driftMatrix, diffusion = linear.diffusionMatrix
        return (0..<d).map { a in
            (0..<grid.cellCount).map { c in
                grid.centre(c, into: &z)
                var mu = 0.0
                for b in 0..<d { mu -= drift[a, b] * (z[b] - linear.center[b]) }
                var j = mu * rho[c]
                for b in 0..<d where diffusion[a, b] != 0 { j -= diffusion[a, b] * slopes[b][c] }
                return j
            }
        }
    }

    /// The L² projection of a density given at the output grid's cell centres (midpoint rule on
    /// the cells): M c = ∫Ψρ.
    public func state(fromDensity density: [Double]) -> [Double] {
        do {
            return try project { point in
            // Nearest cell centre's value (the sampled density is all there is).
            var flat = 0
            for k in 0..<dimension {
                let axis = grid.axes[k]
                let i = min(max(Int(((point[k] - axis.lower) / axis.spacing).rounded(.down)), 0), axis.cells - 1)
                flat += i * grid.strides[k]
            }
            return density[flat]
            }
        } catch {
            // The mass matrix is symmetric positive definite: its LU cannot fail but for a bug.
            preconditionFailure("the Legendre mass matrix did not factor: \(error)")
        }
    }

    /// M c = b, b_i = ∫Ψ_i f dz / Π half by a tensor Gauss–Legendre rule of `points` per axis
    /// (sum factorization: f on the tensor nodes, contracted one axis at a time).
    func project(points requested: Int? = nil, _ f: ([Double]) -> Double) throws -> [Double] {
        try projectWithMass(points: requested, f).state
    }

    /// Nodes per axis of the projection's tensor Gauss rule at most: ~1e7 evaluations of f.
    var quadratureBudget: Int { Int(pow(1e7, 1 / Double(dimension))) }

    /// `project`, and ∫f over the box by the same rule (the density's own mass in the box, which
    /// the projection need not hold exactly: near an absorbing wall it cannot).
    func projectWithMass(points requested: Int? = nil, _ f: ([Double]) -> Double) throws -> (state: [Double], mass: Double) {
        let d = dimension
        let q = min(requested ?? max(4 * (modes.max() ?? 3), 200), quadratureBudget)
        let (nodes, weights) = LegendreAxis.gaussLegendre(q)
        // Table per axis: table[k][p * q + node] = φ_p(ξ_node) w_node.
        let tables: [[Double]] = axes.map { axis in
            var table = [Double](repeating: 0, count: axis.count * q)
            var values = [Double](repeating: 0, count: axis.count)
            for (i, x) in nodes.enumerated() {
                axis.evaluate(x, values: &values)
                for p in 0..<axis.count { table[p * q + i] = values[p] * weights[i] }
            }
            return table
        }
        // f on the tensor nodes, row-major (axis 0 slowest).
        var point = [Double](repeating: 0, count: d)
        var values = [Double](repeating: 0, count: Int(pow(Double(q), Double(d))))
        for flat in values.indices {
            var rest = flat
            for k in stride(from: d - 1, through: 0, by: -1) {
                point[k] = axes[k].mid + axes[k].half * nodes[rest % q]
                rest /= q
            }
            values[flat] = f(point)
        }
        var boxMass = 0.0
        for (flat, v) in values.enumerated() where v != 0 {
            var w = jacobian, rest = flat
            for _ in 0..<d { w *= weights[rest % q]; rest /= q }
            boxMass += w * v
        }
        // Contract axis k: shape (… sizes before k …, q, … q after …) → (…, sizes[k], …).
        var shape = [Int](repeating: q, count: d)
        for k in 0..<d {
            let outer = shape[..<k].reduce(1, *), inner = shape[(k + 1)...].reduce(1, *)
            var next = [Double](repeating: 0, count: outer * sizes[k] * inner)
            for o in 0..<outer {
                for p in 0..<sizes[k] {
                    for i in 0..<q {
                        let w = tables[k][p * q + i]
                        if w == 0 { continue }
                        let source = (o * q + i) * inner, target = (o * sizes[k] + p) * inner
                        for r in 0..<inner { next[target + r] += w * values[source + r] }
                    }
                }
            }
            values = next
            shape[k] = sizes[k]
        }
        let system = try DirectLinearSystem(massMatrix()!, ordering: .automatic, dimension: d, refine: true)
        return (try system.solve(values), boxMass)
    }

    /// The projected state of a density scaled so that the density has mass 1 in the box, as finite
    /// volumes scale their sampled start (a Gaussian's tails beyond the walls are not part of the
    /// problem); refused without mass there.
    func normalisedInBox(_ projection: (state: [Double], mass: Double)) throws -> [Double] {
        let (state, mass) = projection
        guard mass.isFinite, mass > 1e-12 else {
            throw FokkerPlanckError.badInput(file: nil, keyPath: "evolve.initial", line: nil,
                message: String(format: "the initial density has no mass in the [grid] box (%.3g after projection): move its mean inside the box", mass))
        }
        return state.map { $0 / mass }
    }

    /// Gaussian and uniform initial densities are projected on the basis (L², by a tensor Gauss
    /// rule); a delta has no projection and a file's samples would cost the spectral accuracy.
    public func initialState(_ initial: EvolveSettings.InitialCondition) throws -> (state: [Double], startTime: Double) {
        let d = dimension
        switch initial {
        case let .gaussian(mean, covariance):
            // The tensor Gauss rule must resolve the Gaussian: nodes ~π·half/q apart near the
            // middle of an axis, at most a quarter of the narrowest σ.
            let narrowest = max(try covariance.symmetricEigenvalues().min() ?? 0, 0).squareRoot()
            let widest = axes.map(\.half).max() ?? 1
            let neededNodes = 4 * Double.pi * widest / max(narrowest, .leastNormalMagnitude)
            let needed = neededNodes < 1e9 ? Int(neededNodes.rounded(.up)) : Int(1e9)
            let budget = quadratureBudget
            guard needed <= budget else {
                throw FokkerPlanckError.badInput(file: nil, keyPath: "evolve.initial.covariance", line: nil, message: String(format:
                    "the initial Gaussian's narrowest σ = %.3g is too narrow to project on the legendre basis of this box (it would need %ld quadrature nodes per axis, %ld fit in %ld-d); widen it, or use type = \"finite-volume\"",
                    narrowest, needed, budget, d))
            }
            let inverse = try covariance.inverse()
            let scale = 1 / (pow(2 * Double.pi, Double(d) / 2) * abs(try covariance.determinant()).squareRoot())
            // On fourier axes the Gaussian is wrapped, as finite volumes wrap it (review: cut at
            // the seam instead, a start of σ = 2 on a ring of 2π was 12 % off the finite-volume
            // run, 35 % across the seam).
            let images = EvolveSettings.InitialCondition.imageShifts(
                lengths: axes.map { $0.upper - $0.lower }, periodic: axes.map(\.periodic),
                widths: (0..<d).map { covariance[$0, $0].squareRoot() })
            var offset = [Double](repeating: 0, count: d)
            let projection = try projectWithMass(points: max(needed, 4 * (modes.max() ?? 3), 200)) { z in
                images.reduce(0.0) { sum, shift in
                    for k in 0..<d { offset[k] = z[k] + shift[k] - mean[k] }
                    return sum + scale * exp(-0.5 * inverse.quadraticForm(offset))
                }
            }
            return (try normalisedInBox(projection), 0)
        case .uniform:
            let volume = grid.axes.reduce(1.0) { $0 * $1.length }
            return (try normalisedInBox(projectWithMass(points: (modes.max() ?? 3) + 3) { _ in 1 / volume }), 0)
        case .delta, .file:
            throw FokkerPlanckError.badInput(file: nil, keyPath: "evolve.initial.type", line: nil,
                message: "the \(Set(basisNames).sorted().joined(separator: " and ")) basis projects gaussian and uniform initial conditions; a delta has no projection and a file's samples would cost the spectral accuracy — give a narrow gaussian, or use type = \"finite-volume\"")
        }
    }

    // MARK: Diagnostics and output

    /// Mass, mean and covariance from the coefficients exactly (one-axis moments ∫ξ^m φ); the
    /// minimum from the density on the output grid.
    public func diagnostics(of state: [Double], density: [Double]) -> FrameDiagnostics {
        let d = dimension
        let m0 = matrices.map { $0.moments[0] }
        let m1 = (0..<d).map { k in zip(matrices[k].moments[0], matrices[k].moments[1]).map { axes[k].mid * $0 + axes[k].half * $1 } }
        let m2 = (0..<d).map { k in
            (0..<sizes[k]).map { p -> Double in
                let (mid, h) = (axes[k].mid, axes[k].half)
                let mo = matrices[k].moments
                return mid * mid * mo[0][p] + 2 * mid * h * mo[1][p] + h * h * mo[2][p]
            }
        }
        let raw = contract(state, m0)
        let mean = (0..<d).map { a in contract(state, (0..<d).map { $0 == a ? m1[$0] : m0[$0] }) / raw }
        var covariance = [Double](repeating: 0, count: d * d)
        for a in 0..<d {
            for b in a..<d {
                let second = contract(state, (0..<d).map { k in a == b ? (k == a ? m2[k] : m0[k]) : (k == a || k == b ? m1[k] : m0[k]) }) / raw
                covariance[a * d + b] = second - mean[a] * mean[b]
                covariance[b * d + a] = covariance[a * d + b]
            }
        }
        return FrameDiagnostics(mass: jacobian * raw, mean: mean, covariance: covariance, minimum: density.min() ?? 0)
    }

    /// The expansion lives on the box itself: no mass outside it (a `width`-less marginal holds
    /// its mass in the box), so no box warning.
    public func axisMarginals(of state: [Double]) -> [AxisMarginal]? {
        let mass = self.mass(of: state)
        return grid.axes.map { _ in AxisMarginal(centre: 0, width: nil, coefficients: [mass]) }
    }

    public var spectralRecord: SpectralRecord? {
        // Chebyshev axes record T_0 … T_{modes−1}; the others their own functions' labels.
        let recorded = (0..<dimension).map { chebyshevTables[$0]?.count ?? sizes[$0] }
        let indices: [[Int]] = (0..<recorded.reduce(1, *)).map { flat in
            var rest = flat, index = [Int](repeating: 0, count: dimension)
            for k in stride(from: dimension - 1, through: 0, by: -1) {
                let position = rest % recorded[k]
                rest /= recorded[k]
                index[k] = chebyshevTables[k] != nil ? position : axes[k].labels[position]
            }
            return index
        }
        return SpectralRecord(basis: basisNames, modes: modes,
                       attributes: [("spectral_lower", .doubles(axes.map(\.lower))), ("spectral_upper", .doubles(axes.map(\.upper)))],
                       indices: indices,
                       expansion: "coefficients c_n of ρ(z) = Σ c_n Π φ_{n_k}(ξ_k), ξ_k = (2 z_k − lower_k − upper_k)/(upper_k − lower_k) (spectral_lower, spectral_upper); spectral_indices label φ: 0 → 1, 1 → ξ, −1 → (1 − ξ)/2, −2 → (1 + ξ)/2, k ≥ 2 → (P_k − P_{k−2})/√(2(2k − 1)) (P_k Legendre); on a fourier axis 0 → 1, 2k − 1 → cos(kπ(ξ + 1)), 2k → sin(kπ(ξ + 1)); on a chebyshev axis k → T_k(ξ) (Chebyshev polynomials: the coefficients of the same polynomial solution)")
    }

    /// The coefficients with degree ≥ modes − 4 on some axis, evaluated. Measured on the default 2-d
    /// problem at 32…96 modes: L1 1.8e-1, 1.1e-2, 2.4e-4, 1.8e-6, 5.2e-9 against true errors 1.0e-1,
    /// 4.7e-3, 7.6e-5, 4.4e-7, 1.0e-9 — 1.7–5× above them, where the half-mode difference is the
    /// half-mode run's own error (up to 1e7× above at 96).
    ///
    /// That band stands for everything truncated when the expansion falls fast; when it falls
    /// slowly the bands beyond it add up — and a Galerkin solution's last few coefficients are
    /// themselves damped, so the top band understates the slope. The two bands below it
    /// (4-degree bands B₁, B₂ counted down from the top) give the decay per band, q = ‖B₁‖/‖B₂‖,
    /// and if q < 1 the tail from the top band on is about ‖B₁‖ q/(1 − q); the estimate is the
    /// larger of that and ‖B₀‖. Measured on the 1-d power-law Student-t (poles near the box,
    /// slow geometric decay): the top band alone was 2.4× below the true error at 200 … 400 modes;
    /// this estimate is 1.4–1.6× above it at 200 … 500.
    public func truncationTail(of state: [Double]) -> [Double]? {
        func band(_ index: Int) -> [Double] {
            var part = state
            for flat in part.indices {
                let n = multiIndex(flat)
                let level = (0..<dimension).map { axes[$0].band(of: axes[$0].labels[n[$0]]) }.min()!
                if level != index { part[flat] = 0 }
            }
            return part
        }
        let top = evaluate(band(0))
        func norm(_ values: [Double]) -> Double { values.reduce(0) { $0 + abs($1) } }
        if axes.allSatisfy(\.periodic) {
            // A Fourier Galerkin solution of a smooth periodic problem is near the best
            // approximation (no damped last coefficients): its error is the omitted tail,
            // predicted from the decay of the expansion, axis by axis (bands by that axis'
            // wavenumber, all the others summed: in 2-d a converged y would otherwise fill every
            // band and hide a slow x). The top band alone was 60–600× above the true error on the
            // torus and the tilted ring. Per axis the envelope: E₀ the largest of the top w bands,
            // E₁ of the w below (w = 3, fewer on short expansions), the decay r = (E₀/E₁)^{1/w}
            // per band and the tail E₀ r^{j+1}/(1 − r) (E₀ sits j bands below the top); where the
            // decay slows towards the top (two components, the slower taking over: a random ring
            // at 57 modes decayed 17× per band at k ≈ 20 and 5× at k ≈ 27) the top two bands' own
            // ratio, whichever predicts more. An empty window means a symmetry (only every m-th
            // wavenumber present: e^{−cos 7x}), which says nothing about the decay: then no tail
            // estimate at all, and the half-mode difference decides (reviews: the envelope alone
            // said 1e-15 against a true 0.13 for m = 7, and in 2-d for m = 3).
            // Per axis a, in coefficient amplitudes: s_k = Σ|c| over the functions of wavenumber
            // k on a. A symmetry keeps only every m-th wavenumber (m the gcd of those above 1e-11
            // of the largest; the rest is round-off), so the decay is read along k = 0, m, 2m, …
            var worst: (field: [Double], size: Double)? = nil
            for a in 0..<dimension {
                let waves = (axes[a].count - 1) / 2
                var amplitude = [Double](repeating: 0, count: waves + 1)
                for flat in state.indices { amplitude[(axes[a].labels[position(flat, axis: a)] + 1) / 2] += abs(state[flat]) }
                guard waves >= 1, let largest = amplitude.max(), largest > 0 else { continue }
                func gcd(_ x: Int, _ y: Int) -> Int { y == 0 ? x : gcd(y, x % y) }
                let m = (1...waves).filter { amplitude[$0] > 1e-11 * largest }.reduce(0, gcd)
                guard m > 0 else { continue }  // nothing but round-off beyond k = 0 on this axis
                let t = stride(from: 0, through: waves, by: m).map { amplitude[$0] }
                let n = t.count - 1, w = min(3, n / 2)
                guard w >= 1 else { return nil }  // too few present wavenumbers to read a decay
                let window = t[(n - w + 1)...], below = t[(n - 2 * w + 1)...(n - w)]
                let upper = window.max()!, lower = below.max()!
                guard upper > 0, lower > 0 else { return nil }
                var tail = upper
                if upper < lower {
                    let r = pow(upper / lower, 1 / Double(w))
                    let j = n - window.lastIndex(of: upper)!
                    tail = upper * pow(r, Double(j + 1)) / (1 - r)
                    if t[n] > 0, t[n] < t[n - 1] {
                        let q = t[n] / t[n - 1]
                        tail = max(tail, t[n] * q / (1 - q))
                    }
                }
                // The density of the window's wavenumbers, scaled from their amplitude to the tail's.
                let lowest = (n - w + 1) * m
                var part = state
                for flat in part.indices where (axes[a].labels[position(flat, axis: a)] + 1) / 2 < lowest { part[flat] = 0 }
                let field = evaluate(part).map { $0 * tail / window.reduce(0, +) }
                let size = norm(field)
                if worst == nil || size > worst!.size { worst = (field, size) }
            }
            return worst?.field ?? top
        }
        guard axes.allSatisfy(\.hasTailBands) else { return top }
        let first = norm(evaluate(band(1))), second = norm(evaluate(band(2))), last = norm(top)
        guard second > 0, first < second, last > 0 else { return top }
        let q = first / second
        let scale = max(1, first * q / (1 - q) / last)
        return scale == 1 ? top : top.map { $0 * scale }
    }

    /// An expression model's residual in twice the modes (`LegendreQuadrature.unresolvedCorrection`);
    /// nil for the linear model, whose polynomial coefficients put no content beyond the modes
    /// that the tail does not show.
    public func unresolvedResidual(of state: [Double], resolvedSolve: (([Double]) throws -> [Double])?) -> UnresolvedContent? {
        quadrature?.unresolvedCorrection(of: state, axes: axes, resolvedSolve: resolvedSolve)
    }

    /// The state with each chebyshev axis' functions re-expanded in T_0 … T_{modes−1}, one axis
    /// at a time (the coefficient tensor contracted with the axis' table).
    public func recordedCoefficients(of state: [Double]) -> [Double] {
        guard chebyshevTables.contains(where: { $0 != nil }) else { return state }
        var values = state, shape = sizes
        for k in 0..<dimension {
            guard let table = chebyshevTables[k] else { continue }
            let outer = shape[..<k].reduce(1, *), inner = shape[(k + 1)...].reduce(1, *), rows = table.count
            var next = [Double](repeating: 0, count: outer * rows * inner)
            for o in 0..<outer { for row in 0..<rows { for p in 0..<shape[k] {
                let w = table[row][p]
                if w == 0 { continue }
                let source = (o * shape[k] + p) * inner, target = (o * rows + row) * inner
                for r in 0..<inner { next[target + r] += w * values[source + r] }
            } } }
            values = next
            shape[k] = rows
        }
        return values
    }

    public var unknownsAreCells: Bool { false }
    public var resolution: [Int] { modes }

    /// Half the modes per axis (nil below 6 modes).
    /// Throws what the half-mode build throws (a D that is indefinite at one of its quadrature
    /// nodes, say), so that the missing estimate says why.
    public func coarsened() throws -> (any Discretization)? {
        guard modes.allSatisfy({ $0 >= 6 }) else { return nil }
        if let general = model as? GeneralModel { return try LegendreDiscretization(general: general, grid: grid, modes: modes.map { $0 / 2 }, basis: basisNames) }
        return try LegendreDiscretization(model: linear!, grid: grid, modes: modes.map { $0 / 2 }, basis: basisNames)
    }

    public func shiftedPreconditioning() throws -> (any ShiftedPreconditioning)? { nil }

    public var methodDescription: String {
        (axes.contains(where: \.periodic)
            ? "Fourier/Legendre spectral Galerkin (basis \(axes.map(\.basisName).joined(separator: "×")), modes \(modes.map(String.init).joined(separator: "×")), \(stateCount) coefficients; trigonometric polynomials on periodic axes, polynomials of degree < modes between walls"
            : "Legendre spectral Galerkin (modes \(modes.map(String.init).joined(separator: "×")), \(stateCount) coefficients; polynomials of degree < modes on the [grid] box, zero-flux walls in the weak form, absorbing walls in the basis")
            + (quadrature != nil ? "; expression coefficients by quadrature, 2n + 16 nodes per axis: Gauss–Legendre between walls, the midpoint rule on periodic axes)" : ")")
    }
}
