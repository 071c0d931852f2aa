import Foundation

/// One problem (SPEC §3): what to solve, not how. Holds no solver state.
public struct Problem: Sendable {
    public var title: String
    public var grid: Grid
    public var model: ModelSpecification
    /// `[solve]`: options of the stationary solve.
    public var solver: StationarySolver
    /// `[discretization]`: finite volumes on `[grid]` (the default), or a spectral basis.
    public var discretizationSettings: DiscretizationSettings = .finiteVolume
    /// `[evolve]`, when the file has one.
    public var evolve: EvolveSettings?
    public var output: OutputSettings
    /// `[parameters]`: named numbers for expressions.
    public var parameters: [String: Double]
    /// The problem text after `--set` overrides (verbatim when there were none).
    public var text: String
    /// Where the problem came from (a path, or a description).
    public var source: String
    /// The file name, lines and overridden keys, for errors found after decoding.
    var decodingContext: DecodingContext
}

/// The model of a problem, typed by its `type` key.
public enum ModelSpecification: Sendable {
    case linear(LinearModel)
    /// Kunin's SGD with momentum; solved as the phase-space linear model it defines.
    case sgdMomentum(SGDMomentumParameters, LinearModel)
    /// Kunin's SGD with momentum with the least-squares, state-dependent gradient noise
    /// (`noise = "state-dependent"`): the same drift, D_v(θ) as expressions.
    case sgdMomentumStateDependent(SGDMomentumParameters, GeneralModel)
    /// Underdamped Langevin dynamics in a potential.
    case langevin(LangevinModel)
    /// Chaudhari–Soatto overdamped SGD: a `LinearModel` for a quadratic loss with constant D, else
    /// a `GeneralModel`.
    case sgd(SGDParameters, any DriftDiffusionModel)
    /// Meng et al.'s power-law dynamic.
    case powerLaw(PowerLawParameters, GeneralModel)
    /// Drift and diffusion given as expressions.
    case general(GeneralModel)

    /// The value of `model.type`.
    public var typeName: String {
        switch self {
        case .linear: return "linear"
        case .sgdMomentum, .sgdMomentumStateDependent: return "sgd-momentum"
        case .langevin: return "langevin"
        case .sgd: return "sgd"
        case .powerLaw: return "power-law"
        case .general: return "general"
        }
    }

    /// The drift and diffusion the scheme discretizes (Itô form).
    public var coefficients: any DriftDiffusionModel {
        switch self {
        case let .linear(model): return model
        case let .sgdMomentum(_, model): return model
        case let .sgdMomentumStateDependent(_, model): return model
        case let .langevin(model): return model
        case let .sgd(_, model): return model
        case let .powerLaw(_, model): return model
        case let .general(model): return model
        }
    }

    /// The Ornstein–Uhlenbeck form of the model, when it has one.
    public var linearModel: LinearModel? {
        switch self {
        case let .linear(model): return model
        case let .sgdMomentum(_, model): return model
        case let .sgd(_, model): return model as? LinearModel
        case .langevin, .powerLaw, .general, .sgdMomentumStateDependent: return nil
        }
    }

    public var temperature: Double { coefficients.temperature }

    /// The stochastic-calculus convention the coefficients were given in (constant D: all agree,
    /// and Itô is recorded).
    public var convention: String { (coefficients as? GeneralModel)?.convention.rawValue ?? "ito" }
}

/// Which fields a run writes beside the density.
public enum OutputField: String, Sendable, CaseIterable {
    case density, current, potential, velocity
}

/// `[output]`.
public struct OutputSettings: Sendable {
    /// Target file, relative to the working directory.
    public var file: String
    public var fields: [OutputField]
}

/// `[evolve]` (used by `fpsolve evolve`).
public struct EvolveSettings: Sendable {
    public enum Scheme: String, Sendable, CaseIterable {
        case crankNicolson = "crank-nicolson"
        case bdf2
        case implicitEuler = "implicit-euler"
        /// ρ(t + τ) = exp(τL) ρ(t) to the unit roundoff (`ExponentialAction`): one step per frame,
        /// no time-step error.
        case exponential
        case spectral
    }

    public enum InitialCondition: Sendable {
        case gaussian(mean: [Double], covariance: Matrix)
        case uniform
        case delta(at: [Double])
        case file(path: String)
    }

    /// Bounds of one run: 10⁸ steps is a day of work even at 1 ms a step (a typo such as
    /// dt = 1e-300 is caught here, not by an integer overflow); 10⁵ frames is far more than anyone
    /// looks at, and the disk-space check bounds their bytes.
    public static let maximumSteps = 1e8
    public static let maximumFrames = 100_000

    public var tEnd: Double
    public var dt: Double
    public var scheme: Scheme
    public var frames: Int
    public var initial: InitialCondition?

    public init(tEnd: Double, dt: Double, scheme: Scheme = .crankNicolson, frames: Int = 50, initial: InitialCondition? = nil) {
        self.tEnd = tEnd
        self.dt = dt
        self.scheme = scheme
        self.frames = frames
        self.initial = initial
    }
}

/// `[discretization]` (SPEC §3).
public enum DiscretizationSettings: Sendable, Equatable {
    case finiteVolume
    /// Per axis: the basis name, the number of modes; optional centre and scale of Hermite axes.
    case spectral(basis: [String], modes: [Int], centre: [Double]?, scale: [Double]?)

    public var typeName: String {
        switch self {
        case .finiteVolume: return "finite-volume"
        case .spectral: return "spectral"
        }
    }
}

extension Problem {
    /// An upper bound on a spectral state's coefficient count (Π modes; a Hermite total-degree set
    /// keeps fewer), 0 for finite volumes — for the output-size estimates.
    public var spectralCoefficientBound: Double {
        guard case let .spectral(_, modes, _, _) = discretizationSettings else { return 0 }
        return modes.reduce(1.0) { $0 * Double($1) }
    }

    /// The discretization the problem asks for, on `grid` (default: its own `[grid]`; a validation
    /// study passes its resolutions). `[grid]` is the output grid of a spectral method. Callers
    /// never name a concrete scheme.
    public func discretization(on grid: Grid? = nil) throws -> any Discretization {
        // Coefficients given as expressions were checked on [grid] when decoded; another grid
        // (a validation study's) evaluates them elsewhere.
        if let grid, grid != self.grid {
            try Self.checkCoefficients(model, grid: grid, context: decodingContext)
        }
        let grid = grid ?? self.grid
        switch discretizationSettings {
        case .finiteVolume:
            return FiniteVolumeScheme(grid: grid, model: model.coefficients)
        case let .spectral(basis, modes, centre, scale):
            // Decoding admits Hermite bases on OU models and Fourier × Hermite on Langevin
            // (`Problem.decodeDiscretization`).
            if case let .langevin(langevin) = model {
                return try LangevinSpectralDiscretization(model: langevin, grid: grid, modes: modes)
            }
            if basis.allSatisfy({ Self.isPolynomialBasis($0) || $0 == "fourier" }), model.linearModel == nil, let general = model.coefficients as? GeneralModel {
                return try LegendreDiscretization(general: general, grid: grid, modes: modes, basis: basis)
            }
            guard let linear = model.linearModel else {
                throw decodingContext.error("discretization.type", "the spectral discretization needs a linear or sgd-momentum model")
            }
            if basis.allSatisfy(Self.isPolynomialBasis) {
                return try LegendreDiscretization(model: linear, grid: grid, modes: modes, basis: basis)
            }
            return try HermiteDiscretization(model: linear, grid: grid, modes: modes, centre: centre, scale: scale)
        }
    }
}
