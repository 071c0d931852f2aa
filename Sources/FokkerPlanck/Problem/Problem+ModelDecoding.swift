import Foundation
import TOMLKit

/// Decoding of the models whose coefficients are expressions (`general`, `sgd`, `power-law`).
extension Problem {
    /// `type = "general"`: `drift` (d expressions), `diffusion` (d×d numbers or expressions) or
    /// `noise_amplitude` (σ, d rows of m entries, D = ½σσᵀ), `convention`, `temperature`.
    static func decodeGeneral(_ node: TOMLNode, grid: Grid, parameters: [String: Double]) throws -> ModelSpecification {
        let table = try node.table(allowed: ["type", "drift", "diffusion", "noise_amplitude", "convention", "temperature"])
        let d = grid.dimension, names = grid.axes.map(\.name)
        let driftNode = try table.required("drift")
        let items = try driftNode.array()
        guard items.count == d else {
            throw driftNode.fail("expected \(d) drift expressions, one per axis (\(names.joined(separator: ", "))), found \(items.count)")
        }
        let drift = try items.map { try formula($0, names: names, parameters: parameters, what: "the drift") }
        let convention = try decodeConvention(table)
        let temperature = try table.positiveNumber("temperature", default: 1)
        let model: GeneralModel
        switch (table.optional("diffusion"), table.optional("noise_amplitude")) {
        case let (diffusionNode?, nil):
            let entries = try formulaMatrix(diffusionNode, rows: d, columns: d, names: names, parameters: parameters, what: "the diffusion tensor D")
            model = GeneralModel(drift: drift, diffusion: entries, convention: convention, temperature: temperature)
        case let (nil, amplitudeNode?):
            let rows = try amplitudeNode.array()
            let m = try rows.first?.array().count ?? 0
            guard m >= 1 else { throw amplitudeNode.fail("expected the noise amplitude σ as \(d) rows of m ≥ 1 entries (2D = σσᵀ)") }
            let entries = try formulaMatrix(amplitudeNode, rows: d, columns: m, names: names, parameters: parameters, what: "the noise amplitude σ")
            model = GeneralModel(drift: drift, diffusion: nil, amplitude: entries, amplitudeColumns: m, convention: convention, temperature: temperature)
        case (_?, _?):
            throw table.optional("noise_amplitude")!.fail("give either diffusion (D) or noise_amplitude (σ, with D = ½σσᵀ), not both")
        case (nil, nil):
            throw node.context.error("model.diffusion", "missing the noise: diffusion (D, d×d) or noise_amplitude (σ, with D = ½σσᵀ)")
        }
        try checkExpressionSize(model, node: driftNode)
        let spec = ModelSpecification.general(model)
        try checkCoefficients(spec, grid: grid, context: node.context)
        return spec
    }

    /// `type = "sgd"` (Chaudhari–Soatto): `loss` f (an expression) or `hessian` H (with `minimum`),
    /// `diffusion` D (numbers or expressions), `learning_rate` η, `batch_size` b; the diffusion
    /// tensor is β⁻¹D with β⁻¹ = η/(2b), and the temperature defaults to β⁻¹.
    static func decodeSGD(_ node: TOMLNode, grid: Grid, parameters: [String: Double]) throws -> ModelSpecification {
        let table = try node.table(allowed: ["type", "loss", "hessian", "minimum", "diffusion", "learning_rate", "batch_size",
                                             "convention", "temperature", "noise", "fourth_moment"])
        let d = grid.dimension, names = grid.axes.map(\.name)
        let eta = try table.positiveNumber("learning_rate", default: nil)
        let batch = try table.positiveNumber("batch_size", default: nil)
        let inverseBeta = eta / (2 * batch)
        let convention = try decodeConvention(table)
        let temperature = try table.positiveNumber("temperature", default: inverseBeta)
        let diffusionNode = try table.required("diffusion")
        let entries = try formulaMatrix(diffusionNode, rows: d, columns: d, names: names, parameters: parameters, what: "the diffusion tensor D")
        var loss: Formula? = nil, hessian: Matrix? = nil
        var minimum = [Double](repeating: 0, count: d)
        switch (table.optional("loss"), table.optional("hessian")) {
        case let (lossNode?, nil):
            if table.optional("minimum") != nil {
                throw table.optional("minimum")!.fail("minimum belongs to a quadratic loss given by its hessian; a loss expression has its own minima")
            }
            loss = try formula(lossNode, names: names, parameters: parameters, what: "the loss f")
        case let (nil, hessianNode?):
            let h = try hessianNode.matrix(size: d)
            try checkSymmetric(h, node: hessianNode, what: "the Hessian H")
            hessian = h
            minimum = try table.optional("minimum")?.numbers(count: d) ?? minimum
        case (_?, _?):
            throw table.optional("hessian")!.fail("give either loss (an expression f) or hessian (H, for f = ½ (z − m)ᵀ H (z − m)), not both")
        case (nil, nil):
            throw node.context.error("model.loss", "missing the loss: loss (an expression f of \(names.joined(separator: ", "))) or hessian (H)")
        }
        let sgd = SGDParameters(loss: loss, hessian: hessian, minimum: minimum, learningRate: eta, batchSize: batch)
        var scaled = entries.map { Formula.product(.number(inverseBeta), $0) }
        var stateDependent = false
        if let noiseNode = table.optional("noise") {
            switch try noiseNode.string() {
            case "constant": break
            case "state-dependent": stateDependent = true
            case let other:
                throw noiseNode.fail("unknown noise '\(other)'; expected constant (D as given) or state-dependent (least squares: D + Q[e, e], e = z − minimum, Gaussian data unless fourth_moment)")
            }
        }
        if let node = table.optional("fourth_moment"), !stateDependent {
            throw node.fail("fourth_moment sets the data's fourth moments for noise = \"state-dependent\"; with constant noise it has no effect")
        }
        if stateDependent {
            // Least squares: D is the per-example gradient covariance at the minimum, and the
            // data's fourth moments add Q[e, e] (`LeastSquaresNoise`).
            guard let hessian else {
                throw noiseNode(table).fail("the state-dependent noise is least squares' (Σ + Q[e, e] from the data's moments): give the loss by its hessian (and minimum), not an expression")
            }
            guard entries.allSatisfy(\.isConstant) else {
                throw diffusionNode.fail("with noise = \"state-dependent\" the diffusion is the gradient covariance at the minimum: numbers, not expressions")
            }
            let atMinimum = Matrix(rows: d, columns: d, elements: entries.map { $0.evaluate([Double](repeating: 0, count: d)) })
            try checkDiffusion(atMinimum, node: diffusionNode)
            let fourth = try table.optional("fourth_moment").map { try decodeFourthMoment($0, hessian: hessian, stateDependent: true) }
            let noise = LeastSquaresNoise(hessian: hessian, atMinimum: atMinimum, fourthMoment: fourth)
            let e: [Formula] = (0..<d).map { minimum[$0] == 0 ? .variable($0, names[$0]) : .subtract(.variable($0, names[$0]), .number(minimum[$0])) }
            scaled = noise.formulas(e).map { Formula.product(.number(inverseBeta), $0) }
        }
        if let hessian, !stateDependent, entries.allSatisfy(\.isConstant) {
            // A quadratic loss with constant noise is an Ornstein–Uhlenbeck process.
            let constant = Matrix(rows: d, columns: d, elements: scaled.map { $0.evaluate([Double](repeating: 0, count: d)) })
            try checkDiffusion(constant, node: diffusionNode)
            return .sgd(sgd, LinearModel(driftMatrix: hessian, diffusion: constant, center: minimum, temperature: temperature))
        }
        let drift: [Formula]
        if let loss {
            drift = (0..<d).map { Formula.negated(loss.derivative($0)) }
        } else {
            drift = PowerLawParameters.linearDrift(hessian!, minimum: minimum, names: names)
        }
        let model = GeneralModel(drift: drift, diffusion: scaled, convention: convention, temperature: temperature)
        try checkExpressionSize(model, node: table.optional("loss") ?? diffusionNode)
        let spec = ModelSpecification.sgd(sgd, model)
        try checkCoefficients(spec, grid: grid, context: node.context)
        return spec
    }

    /// `type = "power-law"` (Meng et al.): `hessian` (a number h, H = hI, or a matrix),
    /// `learning_rate` η, `sigma` (σ, Σ = σI, or a matrix Σ), `kappa` (κ ≥ 0, K = κI, or a PSD
    /// matrix K), `minimum` w*?, `convention`?, `temperature`? (default 1).
    static func decodePowerLaw(_ node: TOMLNode, grid: Grid) throws -> ModelSpecification {
        let table = try node.table(allowed: ["type", "hessian", "learning_rate", "sigma", "kappa", "minimum", "convention", "temperature"])
        let d = grid.dimension
        let hessianNode = try table.required("hessian")
        let hessian = try numberOrMatrix(hessianNode, size: d)
        try checkSymmetric(hessian, node: hessianNode, what: "the Hessian H")
        let eta = try table.positiveNumber("learning_rate", default: nil)
        let sigmaNode = try table.required("sigma")
        let sigma = try numberOrMatrix(sigmaNode, size: d)
        try checkDiffusion(sigma, node: sigmaNode, what: "the noise covariance Σ (sigma)")
        let kappaNode = try table.required("kappa")
        let kappa = try numberOrMatrix(kappaNode, size: d)
        if kappa.maxAbs > 0 { try checkDiffusion(kappa, node: kappaNode, what: "κ (K in 1 + zᵀKz)") }
        let minimum = try table.optional("minimum")?.numbers(count: d) ?? [Double](repeating: 0, count: d)
        let parameters = PowerLawParameters(hessian: hessian, learningRate: eta, sigma: sigma, kappa: kappa, minimum: minimum)
        let model = parameters.model(names: grid.axes.map(\.name), convention: try decodeConvention(table),
                                     temperature: try table.positiveNumber("temperature", default: 1))
        let spec = ModelSpecification.powerLaw(parameters, model)
        try checkCoefficients(spec, grid: grid, context: node.context)
        return spec
    }

    // MARK: Helpers

    static func noiseNode(_ table: TOMLTableNode) -> TOMLNode { table.optional("noise")! }

    static func decodeConvention(_ table: TOMLTableNode) throws -> StochasticConvention {
        guard let node = table.optional("convention") else { return .ito }
        let word = try node.string()
        guard let convention = StochasticConvention(rawValue: word) else {
            throw node.fail("unknown convention '\(word)'; expected " + StochasticConvention.allCases.map(\.rawValue).joined(separator: ", "))
        }
        return convention
    }

    /// A number, or an expression of the axis names and `[parameters]`.
    static func formula(_ node: TOMLNode, names: [String], parameters: [String: Double], what: String) throws -> Formula {
        if node.value.type == .int || node.value.type == .double { return .number(try node.number()) }
        guard node.value.type == .string else { throw node.fail("expected a number or an expression (a string), found \(node.typeDescription)") }
        var parser = FormulaParser(variables: names, parameters: parameters)
        do { return try parser.parse(try node.string()) } catch let failure as FormulaParser.Failure {
            throw node.fail("\(what) (an expression of \(names.joined(separator: ", "))): \(failure.message)")
        }
    }

    /// A rows × columns matrix of numbers or expressions, row-major.
    static func formulaMatrix(_ node: TOMLNode, rows: Int, columns: Int, names: [String], parameters: [String: Double], what: String) throws -> [Formula] {
        let items = try node.array()
        guard items.count == rows else { throw node.fail("expected \(what) as \(rows) rows, found \(items.count)") }
        return try items.flatMap { row -> [Formula] in
            let entries = try row.array()
            guard entries.count == columns else { throw row.fail("expected \(columns) entries in this row of \(what), found \(entries.count)") }
            return try entries.map { try formula($0, names: names, parameters: parameters, what: what) }
        }
    }

    /// A number x (meaning xI) or a size×size matrix.
    static func numberOrMatrix(_ node: TOMLNode, size: Int) throws -> Matrix {
        if node.value.type == .int || node.value.type == .double { return try node.number() * Matrix.identity(size) }
        return try node.matrix(size: size)
    }

    static func checkSymmetric(_ m: Matrix, node: TOMLNode, what: String) throws {
        let scale = m.maxAbs
        for i in 0..<m.rows { for j in 0..<i where abs(m[i, j] - m[j, i]) > 1e-12 * scale {
            throw TOMLNode(value: m[i, j], path: "\(node.path)[\(i)][\(j)]", context: node.context)
                .fail("\(what) must be symmetric: [\(i)][\(j)] = \(m[i, j]) but [\(j)][\(i)] = \(m[j, i])")
        } }
    }

    /// Symbolic derivatives can grow far beyond the text (see `decodeLangevin`).
    static func checkExpressionSize(_ model: GeneralModel, node: TOMLNode) throws {
        let size = model.expressionSize
        guard size <= 100_000 else {
            throw node.fail("the model's expressions and their derivatives have \(size) terms, more than the 100000 a model may have; simplify them")
        }
    }

    /// Refuses the model when its coefficients are not finite, or D not symmetric PSD, at a point
    /// where the scheme on `grid` evaluates them, naming the key and the point.
    static func checkCoefficients(_ model: ModelSpecification, grid: Grid, context: DecodingContext) throws {
        guard let general = model.coefficients as? GeneralModel, let offence = general.firstOffence(on: grid) else { return }
        let at = zip(grid.axes.map(\.name), offence.point).map { "\($0) = \(String(format: "%.6g", $1))" }.joined(separator: ", ")
        let drift = offence.key.hasPrefix("drift")
        let key: String
        switch model {
        case .powerLaw: key = drift ? "model.hessian" : "model.sigma"
        case let .sgd(parameters, _): key = drift ? (parameters.loss != nil ? "model.loss" : "model.hessian") : "model." + offence.key
        default: key = "model." + (general.amplitude != nil && !drift ? "noise_amplitude" : offence.key)
        }
        guard !offence.point.isEmpty else { throw context.error(key, offence.message) }
        var advice = drift ? "a division by zero, the logarithm of a non-positive number, or an overflow?"
                           : "the diffusion tensor must be a finite, symmetric positive semi-definite matrix on the whole box"
        if let hint = offence.hint {
            // Only `general` has the amplitude key.
            if case .general = model { advice = hint + "; give the noise amplitude σ (noise_amplitude, 2D = σσᵀ) instead" } else { advice = hint }
        }
        if case let .sgd(parameters, _) = model, !drift {
            // The scheme sees β⁻¹D, not the D of the file: say so, or the numbers look wrong.
            advice += String(format: "; the values quoted are of the diffusion tensor β⁻¹D, β⁻¹ = η/(2b) = %.6g", parameters.inverseBeta)
        }
        throw context.error(key, "\(offence.message) at \(at), a point where the scheme evaluates the coefficients (\(advice))")
    }
}

extension PowerLawParameters {
    /// −H (z − m) as expressions.
    static func linearDrift(_ h: Matrix, minimum: [Double], names: [String]) -> [Formula] {
        let d = h.rows
        let y: [Formula] = (0..<d).map { minimum[$0] == 0 ? .variable($0, names[$0]) : .subtract(.variable($0, names[$0]), .number(minimum[$0])) }
        return (0..<d).map { i in (0..<d).reduce(Formula.number(0)) { s, j in .sum(s, .product(.number(-h[i, j]), y[j])) } }
    }
}
