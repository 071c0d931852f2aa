import Foundation

/// The extra datasets of an `sgd-momentum` solution (Kunin et al.):
///
/// * `/marginal_theta` — ρ(θ) = ∫ρ dv on the θ axes, `/marginal_v` — ρ(v) = ∫ρ dθ on the v axes;
/// * `/modified_loss` — T Ψ/κ, shifted to min 0, beside `/potential` (Φ = −T log ρ): for Σ = σ²H the
///   stationary density is exp(−Ψ/κ), so the two agree up to the discretization error;
/// * `kunin_covariance` (the closed form) as a root attribute (row-major) and as a 2p × 2p variable
///   beside `stationary_covariance`; `hessian` and `gradient_noise` as p × p variables.
enum SGDMomentumOutput {
    struct Dataset {
        let name: String
        let axes: [Int]
        let shape: [Int]
        let values: [Double]
        let attributes: [(String, AttributeValue)]
    }

    /// `exact`: the discretization's closed-form marginal (a spectral expansion), else nil and
    /// the marginal is the sum over the grid's cells.
    /// With state-dependent noise or the modified equation Kunin's closed forms do not hold
    /// (`kuninClosedFormsHold`): only the marginals are written.
    static func datasets(parameters: SGDMomentumParameters, density: [Double], grid: Grid, temperature: Double,
                         exact: (([Int]) -> [Double]?)? = nil) throws -> [Dataset] {
        let p = parameters.parameterCount
        var result = [
            marginal(density: density, grid: grid, keep: Array(0..<p), name: "marginal_theta", description: "marginal density ρ(θ) = ∫ ρ dv", exact: exact),
            marginal(density: density, grid: grid, keep: Array(p..<(2 * p)), name: "marginal_v", description: "marginal density ρ(v) = ∫ ρ dθ", exact: exact),
        ]
        if parameters.kuninClosedFormsHold, let sigma2 = noiseScale(parameters) {
            let kunin = try KuninReference(parameters)
            let kappa = KuninReference.kappa(noiseScale: sigma2, batchSize: parameters.batchSize, momentum: parameters.momentum)
            var values = [Double](repeating: 0, count: grid.cellCount)
            var z = [Double](repeating: 0, count: grid.dimension)
            for c in 0..<grid.cellCount {
                grid.centre(c, into: &z)
                values[c] = temperature * (try kunin.modifiedLoss(theta: Array(z[0..<p]), velocity: Array(z[p...]))) / kappa
            }
            let minimum = values.min() ?? 0
            result.append(Dataset(name: "modified_loss", axes: Array(0..<(2 * p)), shape: grid.shape, values: values.map { $0 - minimum },
                                  attributes: [("long_name", .string("T Ψ/κ, Kunin's modified loss (min 0), to compare with the potential Φ")), ("units", .string("1")),
                                               ("kappa", .double(kappa))]))
        }
        return result
    }

    /// Kunin's closed-form covariance, flat and row-major (the computed moments are written for
    /// every stationary output).
    static func attributes(parameters: SGDMomentumParameters, density: [Double], grid: Grid) throws -> [(String, AttributeValue)] {
        !parameters.kuninClosedFormsHold ? [] : [("kunin_covariance", .doubles(try KuninReference(parameters).covariance.elements))]
    }

    /// The same closed form (constant noise only), and the Hessian and the gradient noise (at the
    /// minimum, for state-dependent noise), with their shapes.
    static func matrices(parameters: SGDMomentumParameters) throws -> [StationaryOutput.MatrixVariable] {
        let kunin: [StationaryOutput.MatrixVariable] = !parameters.kuninClosedFormsHold ? [] : [
            .init(name: "kunin_covariance", rows: "axis_row", columns: "axis_column", matrix: try KuninReference(parameters).covariance,
                  longName: "Kunin et al.'s closed-form stationary covariance of (θ, v)"),
        ]
        // Without Kunin's closed forms, the continuous model's exact second moments (its moment
        // equations close: linear drift, quadratic D), and for the modified equation the discrete
        // heavy ball's own (what real SGD with fresh Gaussian data gives).
        var closed: [StationaryOutput.MatrixVariable] = []
        if !parameters.kuninClosedFormsHold {
            let equation = parameters.modifiedEquation ? try HeavyBallModifiedEquation(parameters) : nil
            if let moments = try? (equation.map { try SGDMomentumMoments($0) } ?? SGDMomentumMoments(parameters)) {
                closed.append(.init(name: "model_covariance", rows: "axis_row", columns: "axis_column", matrix: moments.covariance,
                                    longName: "exact stationary covariance of the continuous model (its closed second-moment equations)"))
            }
            if let equation, let discrete = try? HeavyBallMoments(equation) {
                closed.append(.init(name: "heavy_ball_covariance", rows: "axis_row", columns: "axis_column", matrix: discrete.covariance,
                                    longName: "exact stationary covariance of the discrete heavy ball in (θ̄, v), fresh data each step"))
                closed.append(.init(name: "heavy_ball_iterate_covariance", rows: "parameter_row", columns: "parameter_column",
                                    matrix: discrete.iterateCovariance,
                                    longName: "exact stationary covariance of the heavy ball's iterates θ_k"))
            }
        }
        return kunin + closed + [
            .init(name: "hessian", rows: "parameter_row", columns: "parameter_column", matrix: parameters.hessian,
                  longName: "Hessian H of the quadratic loss"),
            .init(name: "gradient_noise", rows: "parameter_row", columns: "parameter_column", matrix: parameters.gradientNoise,
                  longName: parameters.stateDependentNoise ? "covariance Σ of the data's gradient noise at the minimum (the state-dependent Σ(θ) adds to it)"
                                                           : "gradient noise covariance Σ"),
        ]
    }

    /// σ² when Σ = σ²H (to 1e-12 relative), else nil.
    static func noiseScale(_ parameters: SGDMomentumParameters) -> Double? {
        let h = parameters.hessian, sigma = parameters.gradientNoise
        let trace = (0..<h.rows).reduce(0) { $0 + h[$1, $1] }
        let sigma2 = (0..<h.rows).reduce(0) { $0 + sigma[$1, $1] } / trace
        return (sigma - sigma2 * h).maxAbs <= 1e-12 * sigma.maxAbs && sigma2 > 0 ? sigma2 : nil
    }

    static func marginal(density: [Double], grid: Grid, keep: [Int], name: String, description: String,
                         exact: (([Int]) -> [Double]?)? = nil) -> Dataset {
        if let values = exact?(keep) {
            return Dataset(name: name, axes: keep, shape: keep.map { grid.shape[$0] }, values: values,
                           attributes: [("long_name", .string(description + ", from the spectral expansion exactly")), ("units", .string("1"))])
        }
        return Dataset(name: name, axes: keep, shape: keep.map { grid.shape[$0] }, values: grid.marginal(of: density, keeping: keep),
                       attributes: [("long_name", .string(description)), ("units", .string("1"))])
    }
}
