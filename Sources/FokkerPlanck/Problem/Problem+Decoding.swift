import Foundation
import TOMLKit

extension Problem {
    static let topLevelKeys: Set<String> = ["title", "grid", "model", "solve", "evolve", "output", "parameters", "discretization"]
    /// Names of output datasets, which an axis (a coordinate dataset of the same file) must not
    /// take; and their prefixes, followed by other axis names.
    static let reservedNames: Set<String> = ["time", "density", "potential", "mass", "min_density", "stationary_covariance",
                                             "kunin_covariance", "hessian", "gradient_noise", "axis_row", "axis_column",
                                             "parameter_row", "parameter_column", "modified_loss",
                                             "estimated_error", "loss", "potential_minus_loss", "divergence_velocity",
                                             "divergence_current", "velocity_dot_grad_potential"]
    static let reservedPrefixes = ["current_", "velocity_", "mean_", "covariance_", "marginal_"]

    init(table: TOMLTable, context: DecodingContext, text: String, source: String) throws {
        let root = try TOMLTableNode(table: table, path: "", context: context, allowed: Self.topLevelKeys)
        title = try root.optional("title")?.string() ?? URL(fileURLWithPath: source).deletingPathExtension().lastPathComponent
        parameters = try Self.decodeParameters(root.optional("parameters"))
        // The phase-space model fixes its own dimension (2p) and can choose a default domain, so it
        // is decoded before the grid; other models take their dimension from the grid.
        let modelNode = try root.required("model")
        // Finite volumes store a field on every cell of the state: 4 axes at most (24⁴ is already
        // 3.3e5 unknowns). A spectral state is a few thousand coefficients however many axes, and
        // only its output grid has cells: 6 axes (Kunin's p = 3 phase space).
        let spectral = root.optional("discretization")?.value.table?["type"]?.string == "spectral"
        let maximumAxes = spectral ? Self.maximumSpectralAxes : 4
        let grid: Grid
        if Self.modelType(modelNode) == "sgd-momentum" {
            let (parameters, temperature, defaults) = try Self.decodeSGDMomentum(modelNode, maximumAxes: maximumAxes)
            grid = try Self.decodeGrid(root.optional("grid"), defaults: defaults, context: context, maximumAxes: maximumAxes)
            if parameters.modifiedEquation {
                let equation = try HeavyBallModifiedEquation(parameters)
                model = parameters.stateDependentNoise
                    ? .sgdMomentumStateDependent(parameters, equation.stateDependentModel(names: grid.axes.map(\.name), temperature: temperature))
                    : .sgdMomentum(parameters, equation.linearModel(temperature: temperature))
            } else {
                model = parameters.stateDependentNoise
                    ? .sgdMomentumStateDependent(parameters, parameters.stateDependentModel(names: grid.axes.map(\.name), temperature: temperature))
                    : .sgdMomentum(parameters, parameters.linearModel(temperature: temperature))
            }
        } else if Self.modelType(modelNode) == "langevin" {
            let names: (Int) -> [String] = { $0 == 4 ? ["x", "y", "vx", "vy"] : ["x", "v"] }
            // Langevin phase space has 2 or 4 axes in either discretization: no hint at 5–6.
            grid = try Self.decodeGrid(root.required("grid"), defaults: GridDefaults(names: names), context: context, maximumAxes: 4,
                                       spectralHint: false)
            model = try Self.decodeLangevin(modelNode, grid: grid, parameters: parameters)
        } else {
            grid = try Self.decodeGrid(root.required("grid"), defaults: nil, context: context, maximumAxes: maximumAxes)
            model = try Self.decodeModel(modelNode, grid: grid, parameters: parameters)
        }
        try Self.checkSpecularWalls(grid: grid, model: model.coefficients, context: context)
        if case let .sgdMomentum(parameters, _) = model, parameters.modifiedEquation,
           let k = grid.axes.firstIndex(where: { $0.boundary == .specular }) {
            // The mirror flux assumes a position drift odd in the velocity (ẋ = v); the modified
            // equation's θ̄ drift has a term in θ̄ too, so the mirrored rows would leak.
            throw context.error("grid.boundary[\(k)]", "a specular wall mirrors v to −v, which assumes dθ/dt = v; the modified equation's θ̄ drift is A_θθ θ̄ + A_θv v, so the wall would leak: use reflecting walls and a box wide enough")
        }
        if case let .sgdMomentumStateDependent(parameters, _) = model, parameters.modifiedEquation,
           let k = grid.axes.firstIndex(where: { $0.boundary == .specular }) {
            throw context.error("grid.boundary[\(k)]", "a specular wall mirrors v to −v, which assumes dθ/dt = v; the modified equation's θ̄ drift is A_θθ θ̄ + A_θv v, so the wall would leak: use reflecting walls and a box wide enough")
        }
        self.grid = grid
        solver = try Self.decodeSolve(root.optional("solve"))
        discretizationSettings = try Self.decodeDiscretization(root.optional("discretization"), model: model, dimension: grid.dimension)
        if case let .spectral(basis, _, _, _) = discretizationSettings {
            // Hermite functions live on the whole line: a wall or a seam of [grid] would be
            // silently ignored, so only reflecting walls (where [grid] is just the output box) pass.
            for (k, axis) in grid.axes.enumerated() where basis[k] == "hermite" && axis.boundary != .reflecting {
                throw context.error("grid.boundary[\(k)]", "the hermite basis treats '\(axis.name)' as unbounded, so its \(axis.boundary.rawValue) boundary would be ignored; \(axis.boundary == .periodic ? "a periodic axis needs the fourier basis" : "use the finite-volume discretization for walls")")
            }
            // The Fourier basis is periodic on the box: only a periodic axis means that.
            for (k, axis) in grid.axes.enumerated() where basis[k] == "fourier" && axis.boundary != .periodic {
                throw context.error("grid.boundary[\(k)]", "the fourier basis is periodic on [lower, upper), but '\(axis.name)' has \(axis.boundary.rawValue) walls; make it periodic, or give it the legendre basis (walls)")
            }
            for (k, axis) in grid.axes.enumerated() where Self.isPolynomialBasis(basis[k]) && axis.boundary != .reflecting && axis.boundary != .absorbing {
                throw context.error("grid.boundary[\(k)]", "the \(basis[k]) basis is for bounded axes with reflecting or absorbing walls, but '\(axis.name)' is \(axis.boundary.rawValue)" + (axis.boundary == .periodic ? "; a periodic axis takes the fourier basis" : ""))
            }
        }
        if case .spectral = discretizationSettings, solver.method == .iterative {
            throw context.error("solve.method", "the spectral discretization is solved directly (its coefficient system is small and sparse); remove method = \"iterative\"")
        }
        let dimension = grid.dimension
        evolve = try root.optional("evolve").map { try Self.decodeEvolve($0, dimension: dimension) }
        output = try Self.decodeOutput(root.optional("output"), source: source)
        self.text = text
        self.source = source
        decodingContext = context
    }

    /// A specular wall reverses a velocity: it belongs on a position axis of a phase-space model
    /// whose velocity axis is symmetric about 0 (so that every row of cells at v has its mirror
    /// at −v).
    static func checkSpecularWalls(grid: Grid, model: any DriftDiffusionModel, context: DecodingContext) throws {
        for (k, axis) in grid.axes.enumerated() where axis.boundary == .specular {
            guard let m = model.velocityAxis(pairedWith: k) else {
                let positions = (0..<grid.dimension).filter { model.velocityAxis(pairedWith: $0) != nil }.map { grid.axes[$0].name }
                throw context.error("grid.boundary[\(k)]", positions.isEmpty
                    ? "a specular wall reverses the velocity of what hits it, so it needs a phase-space model (langevin or sgd-momentum); axis '\(axis.name)' of this model has no velocity — use reflecting"
                    : "a specular wall belongs on a position axis (\(positions.joined(separator: ", "))), where it reverses the paired velocity; '\(axis.name)' is not one — use reflecting")
            }
            let velocity = grid.axes[m]
            // Cell centres mirror onto each other when lower = −upper. A decimal and its negation
            // are exact negatives in floating point, so only round-off of a computed bound
            // (a few ulps of the width) is let through; 1e-9 let a real offset leak mass through
            // the middle row of an odd count (review of 63b1bb7).
            guard abs(velocity.lower + velocity.upper) <= 1e-14 * velocity.length else {
                // Shortest round-trip decimals, so that an offset in the last digits shows.
                throw context.error("grid.lower[\(m)]",
                    "a specular wall on '\(axis.name)' reflects '\(velocity.name)' to −'\(velocity.name)', so the '\(velocity.name)' axis must be symmetric about 0, found [\(velocity.lower), \(velocity.upper)]; use lower = −upper")
            }
        }
    }

    // MARK: [discretization]

    /// The spectral bases: hermite on OU models (`linear`, `sgd-momentum`, `sgd` with a Hessian and
    /// constant D); fourier × hermite on Langevin; legendre or chebyshev (bounded axes) on OU models,
    /// and with fourier (periodic axes) on expression models in 1-d and 2-d.
    static func decodeDiscretization(_ node: TOMLNode?, model: ModelSpecification, dimension d: Int) throws -> DiscretizationSettings {
        guard let node else { return .finiteVolume }
        let table = try node.table(allowed: ["type", "basis", "modes", "center", "scale"])
        let type = try table.optional("type")?.string() ?? "finite-volume"
        switch type {
        case "finite-volume":
            for key in ["basis", "modes", "center", "scale"] where table.optional(key) != nil {
                throw try table.required(key).fail("'\(key)' belongs to type = \"spectral\"; the finite-volume discretization takes its resolution from [grid]")
            }
            return .finiteVolume
        case "spectral":
            let basisNode = try table.required("basis")
            let basis = try basisNode.strings(count: d)
            for (k, name) in basis.enumerated() {
                guard ["fourier", "chebyshev", "legendre", "hermite"].contains(name) else {
                    throw TOMLNode(value: name, path: "discretization.basis[\(k)]", context: node.context)
                        .fail("unknown basis '\(name)'; expected fourier (periodic axes), legendre or chebyshev (bounded) or hermite (unbounded)")
                }
            }
            // Expression models take legendre (walls) and fourier (periodic) axes, by quadrature.
            let expression = model.linearModel == nil && model.coefficients is GeneralModel
            if case .langevin = model, basis.contains(where: isPolynomialBasis) {
                throw TOMLNode(value: basis, path: "discretization.basis", context: node.context)
                    .fail("a langevin model takes fourier on its (periodic) positions and hermite on its velocities; legendre and chebyshev are not implemented for it — use type = \"finite-volume\" for walls")
            }
            if basis.contains(where: isPolynomialBasis) || (expression && basis.allSatisfy({ $0 == "fourier" })) {
                return try decodeLegendre(table, node: node, basis: basis, model: model, dimension: d)
            }
            if case let .langevin(langevin) = model {
                return try decodeLangevinSpectral(table, node: node, basis: basis, positions: langevin.positionCount)
            }
            if expression {
                throw TOMLNode(value: basis, path: "discretization.basis", context: node.context)
                    .fail("a \(model.typeName) model with expression coefficients takes legendre axes (walls) and fourier axes (periodic); hermite is for models with a linear drift and constant D")
            }
            guard model.linearModel != nil else {
                throw TOMLNode(value: type, path: "discretization.type", context: node.context)
                    .fail("the spectral discretization is implemented for linear, sgd-momentum, langevin and sgd (a hessian with constant diffusion) models so far, not this \(model.typeName) model; use type = \"finite-volume\"")
            }
            if let k = basis.firstIndex(of: "fourier") {
                throw TOMLNode(value: basis[k], path: "discretization.basis[\(k)]", context: node.context)
                    .fail("a \(model.typeName) model's drift is linear on the whole space: every axis takes the hermite basis (fourier is for the periodic positions of a langevin model)")
            }
            let (modes, modesNode) = try decodeModes(table, node: node, count: d)
            // Coefficients of total degree ≤ K in d variables: C(K + d, d). Measured: 40⁴ modes
            // (123 410 coefficients) 2.8 GB and 110 s; 64⁴ (766 480) passed 19 GB. 1.5e5 keeps the
            // LU of the coefficient system within about 4 GB. In 5–6 variables the generator couples
            // far more coefficients per row and the LU fills faster (6-d, measured: 12 376
            // coefficients → 1.4e7 entries, 27 132 → 5.9e7 and 1 GiB; fill ∝ n^2): 4e4 keeps it
            // near 1.3e8 entries, about 2 GB.
            let degree = Double(modes.max()! - 1)
            var count = 1.0
            for i in 1...d { count *= (degree + Double(i)) / Double(i) }
            let limit = d <= 4 ? 1.5e5 : 4e4
            guard count <= limit else {
                throw modesNode.fail(String(format: "%.3g Hermite coefficients (total degree ≤ %.0f in %d variables) is more than the %@ whose LU fits in about %@; use fewer modes", count, degree, d, d <= 4 ? "1.5e5" : "4e4", d <= 4 ? "4 GB" : "2 GB"))
            }
            // The basis needs a stationary state on the whole space (A stable), and a centre and
            // scale its series converges for: the stationary spread σ_k below √2 × scale_k (the
            // Hermite-function series of a Gaussian diverges beyond), the scale at most 1000 σ_k and
            // the centre within 10 σ_k of the mean (else the modes needed run into the thousands).
            let linear = model.linearModel!
            let eigenvalues = try linear.driftMatrix.eigenvalues()
            if let worst = eigenvalues.min(by: { $0.re < $1.re }), worst.re <= 1e-12 * max(linear.driftMatrix.maxAbs, .leastNormalMagnitude) {
                throw TOMLNode(value: type, path: "discretization.type", context: node.context)
                    .fail(String(format: "the drift matrix has the eigenvalue %.6g%+.6gi with non-positive real part, so there is no stationary density on the whole space for the Hermite basis to expand; use type = \"finite-volume\" (the box's state)", worst.re, worst.im))
            }
            let spread = try OrnsteinUhlenbeckReference(linear).covariance
            let sigma = (0..<d).map { max(spread[$0, $0], 0).squareRoot() }
            let centre = try table.optional("center")?.numbers(count: d)
            if let centre, let centreNode = table.optional("center") {
                for k in 0..<d where !(abs(centre[k] - linear.center[k]) <= 10 * sigma[k]) {
                    throw centreNode.fail(String(format: "center[%d] = %g is more than 10 stationary standard deviations (σ = %.4g) from the mean %g; the series would need thousands of modes — leave center out (the default is the mean)", k, centre[k], sigma[k], linear.center[k]))
                }
            }
            var scale: [Double]? = nil
            if let scaleNode = table.optional("scale") {
                let values = try scaleNode.numbers(count: d)
                for k in 0..<d {
                    guard values[k] > 0, values[k].isFinite, sigma[k] < 2.0.squareRoot() * values[k], values[k] <= 1000 * sigma[k] else {
                        throw scaleNode.fail(String(format: "scale[%d] = %g: it must exceed σ/√2 = %.4g (the stationary spread σ = %.4g; below, the Hermite series diverges) and be at most 1000 σ; leave scale out for the default basis (the stationary covariance's Cholesky factor)", k, values[k], sigma[k] / 2.0.squareRoot(), sigma[k]))
                    }
                }
                scale = values
            }
            return .spectral(basis: basis, modes: modes, centre: centre, scale: scale)
        default:
            throw TOMLNode(value: type, path: "discretization.type", context: node.context)
                .fail("unknown discretization '\(type)'; expected finite-volume or spectral")
        }
    }

    /// A bounded axis' polynomial basis: `legendre`, or `chebyshev` — the same Galerkin solution (the
    /// space of polynomials of degree < modes, whatever basis spans it), its coefficients written in
    /// Chebyshev polynomials T_k (`LegendreDiscretization.recordedCoefficients`). A Chebyshev-weighted
    /// Galerkin or tau method would conserve mass only up to its residual; this one conserves it exactly.
    static func isPolynomialBasis(_ name: String) -> Bool { name == "legendre" || name == "chebyshev" }

    /// Legendre (bounded box, linear models; expression models also with fourier on periodic axes):
    /// every axis legendre, reflecting or absorbing walls
    /// (checked against [grid] by `LegendreDiscretization`), a positive definite D — the Galerkin
    /// form's zero-flux wall is a condition on the diffusive flux, which a degenerate D does not
    /// carry (an axis with no noise would need inflow/outflow conditions instead) — and at most
    /// 1.5e5 coefficients (as Hermite: the LU stays within a few GB).
    static func decodeLegendre(_ table: TOMLTableNode, node: TOMLNode, basis: [String], model: ModelSpecification, dimension d: Int) throws -> DiscretizationSettings {
        let expression = model.linearModel == nil && model.coefficients is GeneralModel
        if let k = basis.firstIndex(where: { !isPolynomialBasis($0) && !(expression && $0 == "fourier") }) {
            throw TOMLNode(value: basis[k], path: "discretization.basis[\(k)]", context: node.context)
                .fail(basis[k] == "fourier"
                      ? "a \(model.typeName) model's drift is linear, which is not periodic: the fourier basis takes expression models (general, sgd with a loss, power-law) on periodic axes; give every axis the legendre basis"
                      : "legendre axes cannot be mixed with \(basis[k]) ones yet: give every axis the legendre basis (or fourier on a periodic axis of an expression model)")
        }
        // Every model with an OU form (linear, sgd with a quadratic loss and constant D; sgd-momentum's
        // degenerate D is refused below).
        for key in ["center", "scale"] where table.optional(key) != nil {
            throw try table.required(key).fail("'\(key)' belongs to hermite axes; a legendre axis spans the [grid] box")
        }
        guard let linear = model.linearModel else {
            // Expression models (state-dependent D): the quadrature Galerkin, 1-d and 2-d, with a
            // dense operator (`LegendreQuadrature`); D is checked at its nodes when it is built.
            guard model.coefficients is GeneralModel, d <= 2 else {
                throw TOMLNode(value: "legendre", path: "discretization.basis", context: node.context)
                    .fail(d > 2 ? "the legendre and fourier bases take expression models (state-dependent D) in 1-d and 2-d; this one has \(d) axes: use type = \"finite-volume\""
                                : "the legendre basis is implemented for models with a linear drift and constant D and for expression models, not this \(model.typeName) model; use type = \"finite-volume\"")
            }
            let (modes, modesNode) = try decodeModes(table, node: node, count: d)
            guard modes.reduce(1, *) <= LegendreQuadrature.maximumCoefficients else {
                throw modesNode.fail("\(modes.reduce(1, *)) spectral coefficients for an expression model is more than \(LegendreQuadrature.maximumCoefficients): its operator is dense (every coefficient meets every other through the non-polynomial coefficients); use fewer modes")
            }
            return .spectral(basis: basis, modes: modes, centre: nil, scale: nil)
        }
        let eigenvalues = try linear.diffusionMatrix.symmetricEigenvalues()
        guard let smallest = eigenvalues.min(), smallest > 1e-12 * max(linear.diffusionMatrix.maxAbs, .leastNormalMagnitude) else {
            throw TOMLNode(value: "legendre", path: "discretization.basis", context: node.context)
                .fail(String(format: "the legendre Galerkin method needs a positive definite diffusion (its smallest eigenvalue is %.3g): zero flux through a wall is imposed through the diffusive flux; use type = \"finite-volume\"", eigenvalues.min() ?? .nan))
        }
        let (modes, modesNode) = try decodeModes(table, node: node, count: d)
        let count = modes.reduce(1.0) { $0 * Double($1) }
        // The tensor basis couples each coefficient to ~3^d others per Kronecker term, and the LU
        // fills accordingly (measured, direct solve of grids/ou3d and ou4d): 3-d 32³ 5.8e7 LU
        // entries, 1 GB, 4 s; 40³ 1.6e8, 2.1 GB, 13 s. 4-d 10⁴ 2.4e7, 0.7 GB; 14⁴ (38 416) 2.4e8,
        // 4.8 GB, 36 s — fill ∝ n^1.5–1.6. evolve holds more (the LU of M − γL or M − cΔtL, M's,
        // and the error estimate's half-mode run beside it): 46³ solved in 3.6 GB but evolved past
        // 5.5 GB. The caps keep both near 3–5 GB: 1.5e5 in 1–2-d (a 387² LU is small; 0.8 GB),
        // 6.4e4 in 3-d (40³), 4e4 in 4-d; 5–6-d are not measured and get 1.5e4 (fill per unknown
        // grows with 3^d).
        let limit = d <= 2 ? 1.5e5 : d == 3 ? 6.4e4 : d == 4 ? 4e4 : 1.5e4
        guard count <= limit else {
            throw modesNode.fail(String(format: "%.3g Legendre coefficients in %d-d is more than the %.2g whose LU fits in a few GB; use fewer modes", count, d, limit))
        }
        return .spectral(basis: basis, modes: modes, centre: nil, scale: nil)
    }

    /// `modes`, one per axis, 3…512 each: at least 3 because a Hermite axis carries the
    /// covariance in its degree-2 coefficients (a Fourier axis: cos and sin of k = 1); the
    /// coefficient counts are capped by the caller.
    static func decodeModes(_ table: TOMLTableNode, node: TOMLNode, count d: Int) throws -> ([Int], TOMLNode) {
        let modesNode = try table.required("modes")
        let items = try modesNode.array()
        guard items.count == d else { throw modesNode.fail("expected \(d) mode counts (one per axis), found \(items.count)") }
        var modes: [Int] = []
        for (k, item) in items.enumerated() {
            let m = try item.integer()
            guard m >= 3 && m <= 512 else {
                throw TOMLNode(value: m, path: "discretization.modes[\(k)]", context: node.context).fail("expected 3 to 512 modes (the covariance needs degree 2), found \(m)")
            }
            modes.append(m)
        }
        return (modes, modesNode)
    }

    /// Langevin: fourier on the (periodic) positions, hermite on the velocities at the thermal
    /// scale √(T/m); 3…512 modes per axis, at most 1.5e5 coefficients.
    static func decodeLangevinSpectral(_ table: TOMLTableNode, node: TOMLNode, basis: [String], positions q: Int) throws -> DiscretizationSettings {
        for (k, name) in basis.enumerated() where name != (k < q ? "fourier" : "hermite") {
            throw TOMLNode(value: name, path: "discretization.basis[\(k)]", context: node.context)
                .fail(k < q ? "a langevin position axis takes the fourier basis (it must be periodic; finite volumes handle walls)"
                            : "a langevin velocity axis takes the hermite basis")
        }
        for key in ["center", "scale"] where table.optional(key) != nil {
            throw try table.required(key).fail("'\(key)' is not taken for a langevin model: positions are periodic and the velocities' Hermite basis is centred at 0 with the thermal scale √(T/m)")
        }
        let (modes, modesNode) = try decodeModes(table, node: node, count: basis.count)
        // Π (2K_j + 1) Fourier functions (K_j = ⌊(N_j − 1)/2⌋) times C(K_v + q, q) velocity
        // functions: the same 1.5e5 cap as Hermite (the LU within about 4 GB).
        var count = 1.0
        for j in 0..<q { count *= Double(2 * ((modes[j] - 1) / 2) + 1) }
        let degree = Double(modes[q...].max()! - 1)
        for i in 1...q { count *= (degree + Double(i)) / Double(i) }
        guard count <= 1.5e5 else {
            throw modesNode.fail(String(format: "%.3g Fourier × Hermite coefficients is more than the 1.5e5 whose LU fits in about 4 GB; use fewer modes", count))
        }
        return .spectral(basis: basis, modes: modes, centre: nil, scale: nil)
    }

    // MARK: [grid]

    /// What a model can say about its grid when the problem leaves parts of `[grid]` out.
    struct GridDefaults {
        /// Axis names for a grid of d axes.
        var names: (Int) -> [String]
        var lower: [Double]?
        var upper: [Double]?
        var cells: [Int]?
    }

    /// Axes a spectral problem may have (its output grid's cells still bound the memory).
    static let maximumSpectralAxes = 6

    static func decodeGrid(_ node: TOMLNode?, defaults: GridDefaults?, context: DecodingContext, maximumAxes: Int = 4,
                           spectralHint: Bool = true) throws -> Grid {
        let empty = TOMLNode(value: TOMLTable(), path: "grid", context: context)
        let node = node ?? empty
        let table = try node.table(allowed: ["axes", "lower", "upper", "cells", "boundary"])
        // lower, upper and cells (and the model's default domain) must agree on d; when they do
        // not, the one that disagrees with the other two is blamed.
        let lowerNode = table.optional("lower"), upperNode = table.optional("upper"), cellsNode = table.optional("cells")
        let nodes = [lowerNode, upperNode, cellsNode]
        let given = try nodes.map { try $0?.array().count }
        let counts = given.compactMap { $0 } + (defaults?.lower.map { [$0.count] } ?? [])
        guard let d = counts.first else { throw context.error("grid.lower", "missing required key 'lower'") }
        if Set(counts).count > 1 {
            let majority = counts.first { count in counts.filter { $0 == count }.count >= 2 }
            for (node, count) in zip(nodes, given) {
                guard let node, let count, let majority, count != majority else { continue }
                let what = node.path.hasSuffix("cells") ? "cell counts" : "numbers"
                throw node.fail("expected \(majority) \(what) (one per axis, as the other grid keys have), found \(count)")
            }
            throw (nodes.compactMap { $0 }.first ?? node).fail(
                "lower, upper and cells must have one entry per axis (the model's domain has \(defaults?.lower?.count ?? d)); found \(given.map { $0.map(String.init) ?? "—" }.joined(separator: ", "))")
        }
        guard (1...maximumAxes).contains(d) else {
            let blame = lowerNode ?? TOMLNode(value: 0, path: "grid.lower", context: context)
            if spectralHint && maximumAxes == 4 && d <= maximumSpectralAxes {
                throw blame.fail("finite-volume grids have 1 to 4 axes, found \(d); a \(d)-d problem needs the spectral discretization ([discretization] type = \"spectral\")")
            }
            throw blame.fail("grids have 1 to \(maximumAxes) axes, found \(d)")
        }
        let lower = try lowerNode?.numbers(count: d) ?? defaults?.lower ?? { throw context.error("grid.lower", "missing required key 'lower'") }()
        let upper = try upperNode?.numbers(count: d) ?? defaults?.upper ?? { throw context.error("grid.upper", "missing required key 'upper'") }()
        let cells = try cellsNode?.array().map { try $0.integer() } ?? defaults?.cells ?? {
            throw context.error("grid.cells", "missing required key 'cells'")
        }()
        let names: [String]
        if let axesNode = table.optional("axes") {
            names = try axesNode.strings(count: d)
            for (k, name) in names.enumerated() {
                let item = TOMLNode(value: name, path: "\(axesNode.path)[\(k)]", context: node.context)
                guard name.range(of: "^[A-Za-z_][A-Za-z0-9_]*$", options: .regularExpression) != nil else {
                    throw item.fail("an axis name must be an identifier (letters, digits, _), found '\(name)'")
                }
                guard !reservedNames.contains(name), !reservedPrefixes.contains(where: { name.hasPrefix($0) }) else {
                    throw item.fail("'\(name)' is the name of an output dataset; choose another axis name")
                }
            }
            if Set(names).count != d { throw axesNode.fail("axis names must be distinct, found \(names)") }
        } else {
            names = defaults.map { $0.names(d) }.flatMap { $0.count == d ? $0 : nil } ?? (0..<d).map { "x\($0)" }
        }
        var boundaries = [BoundaryKind](repeating: .reflecting, count: d)
        if let boundaryNode = table.optional("boundary") {
            let items = try boundaryNode.array()
            guard items.count == d else { throw boundaryNode.fail("expected \(d) boundary kinds (one per axis), found \(items.count)") }
            boundaries = try items.map { item in
                let word = try item.string()
                guard let kind = BoundaryKind(rawValue: word) else {
                    throw item.fail("unknown boundary kind '\(word)'; expected reflecting, periodic, absorbing or specular")
                }
                return kind
            }
        }
        var axes: [Axis] = []
        for k in 0..<d {
            // The width and the cell size must be ordinary numbers: ±1e308 overflow to ∞.
            guard (upper[k] - lower[k]).isFinite, ((upper[k] - lower[k]) / Double(max(cells[k], 1))).isNormal || lower[k] >= upper[k] else {
                throw TOMLNode(value: upper[k], path: "grid.upper[\(k)]", context: node.context)
                    .fail("the axis from \(lower[k]) to \(upper[k]) is too wide or its cells too small to compute with")
            }
            guard lower[k] < upper[k] else {
                throw TOMLNode(value: upper[k], path: "grid.upper[\(k)]", context: node.context)
                    .fail("upper must exceed lower on every axis, found lower = \(lower[k]), upper = \(upper[k])")
            }
            guard cells[k] >= 3 else {
                throw TOMLNode(value: cells[k], path: "grid.cells[\(k)]", context: node.context)
                    .fail("an axis needs at least 3 cells, found \(cells[k])")
            }
            axes.append(Axis(name: names[k], lower: lower[k], upper: upper[k], cells: cells[k], boundary: boundaries[k]))
        }
        let total = cells.reduce(1.0) { $0 * Double($1) }
        guard total < 2e9 else {
            throw context.error("grid.cells", String(format: "%.3g cells is more than any grid this solver can hold (at most 2e9)", total))
        }
        return Grid(axes: axes)
    }

    // MARK: [model]

    static func decodeModel(_ node: TOMLNode, grid: Grid, parameters: [String: Double]) throws -> ModelSpecification {
        let d = grid.dimension
        guard node.value.type == .table, let raw = node.value.table else { throw node.fail("expected a table") }
        let typeNode = TOMLNode(value: raw["type"] ?? "", path: "model.type", context: node.context)
        guard raw["type"] != nil else { throw typeNode.fail("missing required key 'type' (for example type = \"linear\")") }
        let type = try typeNode.string()
        switch type {
        case "linear":
            let table = try node.table(allowed: ["type", "drift_matrix", "diffusion", "center", "temperature"])
            let a = try table.required("drift_matrix").matrix(size: d)
            let diffusionNode = try table.required("diffusion")
            let diffusion = try diffusionNode.matrix(size: d)
            try checkDiffusion(diffusion, node: diffusionNode)
            let center = try table.optional("center")?.numbers(count: d)
            let temperature = try table.positiveNumber("temperature", default: 1)
            return .linear(LinearModel(driftMatrix: a, diffusion: diffusion, center: center, temperature: temperature))
        case "general":
            return try decodeGeneral(node, grid: grid, parameters: parameters)
        case "sgd":
            return try decodeSGD(node, grid: grid, parameters: parameters)
        case "power-law":
            return try decodePowerLaw(node, grid: grid)
        default:
            throw typeNode.fail("unknown model type '\(type)'; expected one of linear, sgd-momentum, sgd, power-law, general, langevin")
        }
    }

    static func modelType(_ node: TOMLNode) -> String? { node.value.table?["type"]?.string }

    /// `type = "sgd-momentum"`: the hyper-parameters, and a default grid of ±6 stationary standard
    /// deviations around (μ_λ, 0), the heavy ball's fixed point on the axes theta1…thetap, v1…vp (128² cells for p = 1, 16⁴ for p = 2,
    /// 10⁶ output cells for p = 3, which only the spectral discretization solves).
    static func decodeSGDMomentum(_ node: TOMLNode, maximumAxes: Int = 4) throws -> (SGDMomentumParameters, temperature: Double, GridDefaults) {
        let table = try node.table(allowed: ["type", "hessian", "learning_rate", "momentum", "batch_size", "gradient_noise",
                                             "noise_scale", "weight_decay", "minimum", "temperature", "noise", "modified_equation",
                                             "fourth_moment"])
        let hessianNode = try table.required("hessian")
        let size = try hessianNode.array().count
        guard (1...(maximumAxes / 2)).contains(size) else {
            if maximumAxes == 4 && 2 * size <= maximumSpectralAxes {
                throw hessianNode.fail("finite-volume grids hold at most 4 axes, so p = 1 or 2 parameters (a 1×1 or 2×2 Hessian), found \(size)×\(size); p = \(size) needs the spectral discretization ([discretization] type = \"spectral\", hermite on every axis)")
            }
            throw hessianNode.fail("phase space holds at most \(maximumAxes) axes, so p ≤ \(maximumAxes / 2) parameters, found a \(size)×\(size) Hessian")
        }
        let hessian = try hessianNode.matrix(size: size)
        try checkDiffusion(hessian, node: hessianNode, what: "the Hessian H")
        let smallestCurvature = try hessian.symmetricEigenvalues().first!
        guard smallestCurvature > 0 else {
            throw hessianNode.fail("the Hessian H must be positive definite (a minimum), but it has the eigenvalue \(smallestCurvature)")
        }
        let eta = try table.positiveNumber("learning_rate", default: nil)
        let batch = try table.positiveNumber("batch_size", default: nil)
        let betaNode = try table.required("momentum")
        let beta = try betaNode.number()
        guard beta >= 0, beta < 1 else { throw betaNode.fail("the momentum β must be in [0, 1), found \(beta)") }
        let noise: Matrix
        switch (table.optional("gradient_noise"), table.optional("noise_scale")) {
        case let (matrixNode?, nil):
            noise = try matrixNode.matrix(size: size)
            try checkDiffusion(noise, node: matrixNode, what: "the gradient noise Σ")
        case let (nil, scaleNode?):
            let sigma2 = try scaleNode.number()
            guard sigma2 > 0 else { throw scaleNode.fail("the noise scale σ² must be positive, found \(sigma2)") }
            noise = sigma2 * hessian
        case (_?, _?):
            throw table.optional("noise_scale")!.fail("give either gradient_noise (Σ) or noise_scale (σ², Σ = σ²H), not both")
        case (nil, nil):
            throw node.context.error("model.gradient_noise", "missing the gradient noise: gradient_noise (Σ) or noise_scale (σ², Σ = σ²H)")
        }
        let decayNode = table.optional("weight_decay")
        let decay = try decayNode?.number() ?? 0
        if let decayNode, decay < 0 { throw decayNode.fail("the weight decay must be ≥ 0, found \(decay)") }
        let minimum = try table.optional("minimum")?.numbers(count: size) ?? [Double](repeating: 0, count: size)
        let temperature = try table.positiveNumber("temperature", default: 1)
        var parameters = SGDMomentumParameters(hessian: hessian, learningRate: eta, momentum: beta, batchSize: batch,
                                               gradientNoise: noise, weightDecay: decay, minimum: minimum)
        if let noiseNode = table.optional("noise") {
            switch try noiseNode.string() {
            case "constant": break
            case "state-dependent":
                guard maximumAxes == 4 || 2 * size <= 4 else {
                    throw noiseNode.fail("the state-dependent noise is solved on finite-volume grids (p ≤ 2); the spectral discretization takes constant noise")
                }
                parameters.stateDependentNoise = true
            case let other:
                throw noiseNode.fail("unknown noise '\(other)'; expected constant (Σ) or state-dependent (least squares with Gaussian data: Σ + H e eᵀ H + (eᵀHe) H, e = θ − μ)")
            }
        }
        if let node = table.optional("fourth_moment") {
            parameters.fourthMoment = try decodeFourthMoment(node, hessian: hessian, stateDependent: parameters.stateDependentNoise)
        }
        if let node = table.optional("modified_equation"), try node.boolean() {
            guard beta > 0 else {
                throw node.fail("the modified equation needs momentum β > 0: at β = 0 the velocity is slaved to the gradient and the phase space has no continuous model (use the sgd model)")
            }
            let limit = (1 + beta.squareRoot()) * (1 + beta.squareRoot())
            let largest = eta * ((try? (hessian + decay * Matrix.identity(size)).symmetricEigenvalues().max()) ?? .nan)
            guard largest < limit else {
                throw node.fail("the modified equation needs ηh < (1 + √β)² = \(limit) for every eigenvalue h of H + λI, found ηh = \(largest): beyond it the heavy ball overshoots every step (negative multipliers), which no continuous flow does")
            }
            parameters.modifiedEquation = true
        }
        // The default box: ±6 standard deviations of the stationary law, ±8 with state-dependent
        // noise (its tails are power laws) — from its closed second moments when they exist.
        var covariance = try KuninReference(parameters).covariance
        var widths = 6.0
        if parameters.modifiedEquation {
            covariance = try SGDMomentumMoments(try HeavyBallModifiedEquation(parameters)).covariance
        } else if parameters.stateDependentNoise {
            guard let moments = try? SGDMomentumMoments(parameters) else {
                throw node.fail("with this state-dependent noise the stationary law has no variance (the noise grows faster than the drift restores), so no default box exists; give grid.lower and grid.upper")
            }
            covariance = moments.covariance
        }
        if parameters.stateDependentNoise { widths = 8 }
        let centre = parameters.fixedPoint + [Double](repeating: 0, count: size)
        let spread = (0..<(2 * size)).map { widths * max(covariance[$0, $0], 0).squareRoot() }
        guard spread.allSatisfy({ $0 > 0 && $0.isFinite }) else {
            throw node.fail("the stationary covariance is degenerate, so no default domain exists; give grid.lower and grid.upper")
        }
        let names = (1...size).map { "theta\($0)" } + (1...size).map { "v\($0)" }
        let defaults = GridDefaults(names: { _ in names }, lower: zip(centre, spread).map { $0 - $1 }, upper: zip(centre, spread).map { $0 + $1 },
                                    cells: [Int](repeating: [128, 16, 10][size - 1], count: 2 * size))
        return (parameters, temperature, defaults)
    }

    /// `fourth_moment`: the data's E[x_i x_j x_k x_l] as a p² × p² matrix, for the state-dependent
    /// least-squares noise only (`LeastSquaresNoise`).
    static func decodeFourthMoment(_ node: TOMLNode, hessian: Matrix, stateDependent: Bool) throws -> Matrix {
        guard stateDependent else {
            throw node.fail("fourth_moment sets the data's fourth moments for noise = \"state-dependent\"; with constant noise it has no effect")
        }
        let p = hessian.rows
        let t = try node.matrix(size: p * p)
        if let problem = LeastSquaresNoise.problem(fourthMoment: t, hessian: hessian) { throw node.fail(problem) }
        return t
    }

    /// `type = "langevin"`: U(x) as an expression in the position axis names (the first half of
    /// the axes), mass m (default 1), friction γ, temperature T (default 1).
    static func decodeLangevin(_ node: TOMLNode, grid: Grid, parameters: [String: Double]) throws -> ModelSpecification {
        let table = try node.table(allowed: ["type", "potential", "mass", "friction", "temperature"])
        guard grid.dimension == 2 || grid.dimension == 4 else {
            throw node.context.error("grid.lower", "a Langevin problem lives in phase space (x, v): 2 or 4 axes, found \(grid.dimension)")
        }
        let q = grid.dimension / 2
        let positions = grid.axes.prefix(q).map(\.name)
        let potentialNode = try table.required("potential")
        var parser = FormulaParser(variables: positions, parameters: parameters)
        let potential: Formula
        do { potential = try parser.parse(try potentialNode.string()) } catch let failure as FormulaParser.Failure {
            throw potentialNode.fail("the potential U(\(positions.joined(separator: ", "))): \(failure.message)")
        }
        let model = LangevinModel(potential: potential, positionCount: q, mass: try table.positiveNumber("mass", default: 1),
                                  friction: try table.positiveNumber("friction", default: nil),
                                  temperature: try table.positiveNumber("temperature", default: 1))
        // Symbolic derivatives of long products grow quadratically (x*x*…*x with 2000 factors
        // has a gradient of ~10⁶ nodes, minutes per grid); 10⁵ nodes evaluate in well under a
        // millisecond, far beyond any model written by hand.
        let size = ([potential] + model.gradient).reduce(0) { $0 + $1.nodeCount }
        guard size <= 100_000 else {
            throw potentialNode.fail("the potential and its gradient have \(size) terms, more than the 100000 a model expression may have; simplify it")
        }
        // U and ∇U where the scheme evaluates the drift (and on the walls): a non-finite value
        // there would surface after the work as a singular matrix or a NaN density.
        let formulas = [(potential, "U")] + model.gradient.enumerated().map { ($1, "∂U/∂\(positions[$0])") }
        if let (point, name, value) = grid.firstNonFinite(of: formulas.map { ($0.0.evaluate, $0.1) }, onAxes: Array(0..<q)) {
            let at = zip(positions, point).map { "\($0) = \(String(format: "%.6g", $1))" }.joined(separator: ", ")
            throw potentialNode.fail("\(name) is \(value.isNaN ? "NaN" : String(value)) at \(at), inside the grid: the potential must be finite, with a finite gradient, on the whole box (a division by zero, the logarithm of a non-positive number, or an overflowing exponential?)")
        }
        return .langevin(model)
    }

    /// D must be symmetric positive semi-definite. Symmetry is checked to 1e-12 relative (values
    /// typed in a file are symmetric exactly or wrong by far more); the smallest eigenvalue may dip
    /// below zero by round-off of the eigen-solver, d · 1e-15 relative, so −1e-12 relative is allowed.
    /// `what` names the matrix in messages ("the diffusion tensor D", "the covariance", …).
    static func checkDiffusion(_ diffusion: Matrix, node: TOMLNode, what: String = "the diffusion tensor D") throws {
        let scale = diffusion.maxAbs
        for i in 0..<diffusion.rows { for j in 0..<i where abs(diffusion[i, j] - diffusion[j, i]) > 1e-12 * scale {
            throw TOMLNode(value: diffusion[i, j], path: "\(node.path)[\(i)][\(j)]", context: node.context)
                .fail("\(what) must be symmetric: [\(i)][\(j)] = \(diffusion[i, j]) but [\(j)][\(i)] = \(diffusion[j, i])")
        } }
        guard scale > 0 else {
            throw node.fail(what.hasPrefix("the diffusion") ? "\(what) is zero: without noise there is no density to solve for" : "\(what) is zero")
        }
        let eigenvalues = try diffusion.symmetricEigenvalues()
        if let smallest = eigenvalues.first, smallest < -1e-12 * scale {
            throw node.fail("\(what) must be positive semi-definite, but it has the eigenvalue \(smallest)")
        }
    }

    // MARK: [solve], [evolve], [output], [parameters]

    static func decodeSolve(_ node: TOMLNode?) throws -> StationarySolver {
        guard let node else { return StationarySolver() }
        let table = try node.table(allowed: ["method", "ordering", "tolerance", "restart", "max_iterations", "error_threshold"])
        var solver = StationarySolver()
        if let methodNode = table.optional("method") {
            let word = try methodNode.string()
            guard let method = StationarySolver.Method(rawValue: word) else {
                throw methodNode.fail("unknown method '\(word)'; available: " + StationarySolver.Method.allCases.map(\.rawValue).joined(separator: ", "))
            }
            solver.method = method
        }
        if let orderingNode = table.optional("ordering") {
            let word = try orderingNode.string()
            guard let ordering = SparseOrdering(rawValue: word) else {
                throw orderingNode.fail("unknown ordering '\(word)'; available: " + SparseOrdering.allCases.map(\.rawValue).joined(separator: ", "))
            }
            solver.ordering = ordering
        }
        // GMRES settings (method = "iterative").
        if let toleranceNode = table.optional("tolerance") {
            let tolerance = try toleranceNode.number()
            guard tolerance > 0 && tolerance < 1 else { throw toleranceNode.fail("must be in (0, 1), found \(tolerance)") }
            solver.krylov.tolerance = tolerance
        }
        if let thresholdNode = table.optional("error_threshold") {
            let threshold = try thresholdNode.number()
            guard threshold > 0 && threshold.isFinite else { throw thresholdNode.fail("must be a positive number (a relative L1 error, e.g. 0.01), found \(threshold)") }
            solver.errorThreshold = threshold
        }
        for (key, minimum) in [("restart", 1), ("max_iterations", 1)] {
            guard let valueNode = table.optional(key) else { continue }
            let value = try valueNode.integer()
            guard value >= minimum else { throw valueNode.fail("must be at least \(minimum), found \(value)") }
            if key == "restart" { solver.krylov.restart = value } else { solver.krylov.maxIterations = value }
        }
        return solver
    }

    static func decodeEvolve(_ node: TOMLNode, dimension d: Int) throws -> EvolveSettings {
        let table = try node.table(allowed: ["t_end", "dt", "scheme", "frames", "initial"])
        let tEndNode = try table.required("t_end")
        let tEnd = try tEndNode.number()
        guard tEnd > 0 else { throw tEndNode.fail("t_end must be positive, found \(tEnd)") }
        let dtNode = try table.required("dt")
        let dt = try dtNode.number()
        guard dt > 0, dt <= tEnd else { throw dtNode.fail("dt must be positive and at most t_end, found \(dt)") }
        var scheme = EvolveSettings.Scheme.crankNicolson
        if let schemeNode = table.optional("scheme") {
            let word = try schemeNode.string()
            guard let s = EvolveSettings.Scheme(rawValue: word) else {
                throw schemeNode.fail("unknown scheme '\(word)'; available: " + EvolveSettings.Scheme.allCases.map(\.rawValue).joined(separator: ", "))
            }
            scheme = s
        }
        var frames = 50
        if let framesNode = table.optional("frames") {
            frames = try framesNode.integer()
            guard frames >= 2 else { throw framesNode.fail("frames must be at least 2 (t = 0 and t_end are both written), found \(frames)") }
        }
        let initial = try table.optional("initial").map { try decodeInitial($0, dimension: d) }
        return EvolveSettings(tEnd: tEnd, dt: dt, scheme: scheme, frames: frames, initial: initial)
    }

    static func decodeInitial(_ node: TOMLNode, dimension d: Int) throws -> EvolveSettings.InitialCondition {
        guard let raw = node.value.table, let typeValue = raw["type"] else { throw node.fail("expected a table with a 'type'") }
        let typeNode = TOMLNode(value: typeValue, path: node.path + ".type", context: node.context)
        switch try typeNode.string() {
        case "gaussian":
            let table = try node.table(allowed: ["type", "mean", "covariance"])
            let covarianceNode = try table.required("covariance")
            let covariance = try covarianceNode.matrix(size: d)
            try checkDiffusion(covariance, node: covarianceNode, what: "the covariance of the initial Gaussian")
            guard try covariance.symmetricEigenvalues().first! > 0 else {
                throw covarianceNode.fail("the covariance of the initial Gaussian must be positive definite")
            }
            return .gaussian(mean: try table.required("mean").numbers(count: d), covariance: covariance)
        case "uniform":
            _ = try node.table(allowed: ["type"])
            return .uniform
        case "delta":
            let table = try node.table(allowed: ["type", "at"])
            return .delta(at: try table.required("at").numbers(count: d))
        case "file":
            let table = try node.table(allowed: ["type", "path"])
            return .file(path: try table.required("path").string())
        case let other:
            throw typeNode.fail("unknown initial condition '\(other)'; expected gaussian, uniform, delta or file")
        }
    }

    static func decodeOutput(_ node: TOMLNode?, source: String) throws -> OutputSettings {
        let defaultFile = URL(fileURLWithPath: source).deletingPathExtension().lastPathComponent + ".h5"
        guard let node else { return OutputSettings(file: defaultFile, fields: OutputField.allCases) }
        let table = try node.table(allowed: ["file", "fields"])
        let file = try table.optional("file")?.string() ?? defaultFile
        if file.isEmpty { throw table.optional("file")!.fail("the output file name is empty") }
        var fields = OutputField.allCases
        if let fieldsNode = table.optional("fields") {
            fields = try fieldsNode.array().map { item in
                let word = try item.string()
                guard let field = OutputField(rawValue: word) else {
                    throw item.fail("unknown field '\(word)'; expected density, current, potential or velocity")
                }
                return field
            }
            if !fields.contains(.density) { fields.insert(.density, at: 0) }
        }
        return OutputSettings(file: file, fields: fields)
    }

    static func decodeParameters(_ node: TOMLNode?) throws -> [String: Double] {
        guard let node else { return [:] }
        guard let raw = node.value.table else { throw node.fail("expected a table of named numbers") }
        let table = try node.table(allowed: Set(raw.keys))
        var result: [String: Double] = [:]
        for key in raw.keys { result[key] = try table.required(key).number() }
        return result
    }
}
