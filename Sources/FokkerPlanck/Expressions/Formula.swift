import Foundation

/// A real expression of the problem-file language (SPEC §3): numbers, variables (the axis names),
/// named parameters (folded to numbers when parsed), + − * / ^, parentheses, and the functions
/// exp log sqrt sin cos tan atan tanh abs erf min max. Evaluated by walking the tree; differentiated
/// symbolically (so drifts such as −∇U need no finite differences).
public indirect enum Formula: Sendable, Equatable, CustomStringConvertible {
    case number(Double)
    /// The variable with this index in the variable list it was parsed with.
    case variable(Int, String)
    case negate(Formula)
    case add(Formula, Formula)
    case subtract(Formula, Formula)
    case multiply(Formula, Formula)
    case divide(Formula, Formula)
    case power(Formula, Formula)
    case call(Function, [Formula])

    public enum Function: String, Sendable, CaseIterable {
        case exp, log, sqrt, sin, cos, tan, atan, tanh, abs, erf, min, max
        /// Internal, for derivatives: sign(u) and the Heaviside step H(u) (H(0) = ½).
        case sign, step

        var arity: Int { self == .min || self == .max ? 2 : 1 }
        /// The functions a problem file may name.
        static var userFunctions: [Function] { allCases.filter { $0 != .sign && $0 != .step } }
    }

    // MARK: Evaluation

    public func evaluate(_ x: [Double]) -> Double {
        switch self {
        case let .number(v): return v
        case let .variable(i, _): return x[i]
        case let .negate(a): return -a.evaluate(x)
        case let .add(a, b): return a.evaluate(x) + b.evaluate(x)
        case let .subtract(a, b): return a.evaluate(x) - b.evaluate(x)
        case let .multiply(a, b): return a.evaluate(x) * b.evaluate(x)
        case let .divide(a, b): return a.evaluate(x) / b.evaluate(x)
        case let .power(a, b):
            if case let .number(n) = b, n == 2 { let u = a.evaluate(x); return u * u }
            return Foundation.pow(a.evaluate(x), b.evaluate(x))
        case let .call(f, args):
            let u = args[0].evaluate(x)
            switch f {
            case .exp: return Foundation.exp(u)
            case .log: return Foundation.log(u)
            case .sqrt: return u.squareRoot()
            case .sin: return Foundation.sin(u)
            case .cos: return Foundation.cos(u)
            case .tan: return Foundation.tan(u)
            case .atan: return Foundation.atan(u)
            case .tanh: return Foundation.tanh(u)
            case .abs: return Swift.abs(u)
            case .erf: return Foundation.erf(u)
            // NaN propagates (Swift.min/max would drop it, depending on the argument order).
            case .min: let w = args[1].evaluate(x); return u.isNaN || w.isNaN ? .nan : Swift.min(u, w)
            case .max: let w = args[1].evaluate(x); return u.isNaN || w.isNaN ? .nan : Swift.max(u, w)
            case .sign: return u > 0 ? 1 : (u < 0 ? -1 : (u == 0 ? 0 : .nan))
            case .step: return u > 0 ? 1 : (u < 0 ? 0 : (u == 0 ? 0.5 : .nan))
            }
        }
    }

    /// True when the expression does not depend on any variable.
    /// The number of nodes of the tree (a measure of the cost of one evaluation).
    public var nodeCount: Int {
        switch self {
        case .number, .variable: return 1
        case let .negate(a): return 1 + a.nodeCount
        case let .add(a, b), let .subtract(a, b), let .multiply(a, b), let .divide(a, b), let .power(a, b):
            return 1 + a.nodeCount + b.nodeCount
        case let .call(_, args): return args.reduce(1) { $0 + $1.nodeCount }
        }
    }

    public var isConstant: Bool {
        switch self {
        case .number: return true
        case .variable: return false
        case let .negate(a): return a.isConstant
        case let .add(a, b), let .subtract(a, b), let .multiply(a, b), let .divide(a, b), let .power(a, b):
            return a.isConstant && b.isConstant
        case let .call(_, args): return args.allSatisfy(\.isConstant)
        }
    }

    // MARK: Derivative

    /// ∂/∂x_i, simplified where a factor is 0 or 1.
    public func derivative(_ i: Int) -> Formula {
        switch self {
        case .number: return .number(0)
        case let .variable(j, _): return .number(i == j ? 1 : 0)
        case let .negate(a): return .negated(a.derivative(i))
        case let .add(a, b): return .sum(a.derivative(i), b.derivative(i))
        case let .subtract(a, b): return .sum(a.derivative(i), .negated(b.derivative(i)))
        case let .multiply(a, b): return .sum(.product(a.derivative(i), b), .product(a, b.derivative(i)))
        case let .divide(a, b):
            // (a′b − ab′)/b²
            return .quotient(.sum(.product(a.derivative(i), b), .negated(.product(a, b.derivative(i)))), .power(b, .number(2)))
        case let .power(a, b):
            if case let .number(n) = b {
                return .product(.product(.number(n), .power(a, .number(n - 1))), a.derivative(i))
            }
            // d(a^b) = a^b (b′ log a + b a′/a)
            return .product(self, .sum(.product(b.derivative(i), .call(.log, [a])), .quotient(.product(b, a.derivative(i)), a)))
        case let .call(f, args):
            let u = args[0], du = u.derivative(i)
            let outer: Formula
            switch f {
            case .exp: outer = self
            case .log: return .quotient(du, u)
            case .sqrt: return .quotient(du, .product(.number(2), self))
            case .sin: outer = .call(.cos, [u])
            case .cos: outer = .negated(.call(.sin, [u]))
            case .tan: outer = .sum(.number(1), .power(self, .number(2)))
            case .atan: return .quotient(du, .sum(.number(1), .power(u, .number(2))))
            case .tanh: outer = .sum(.number(1), .negated(.power(self, .number(2))))
            case .abs: outer = .call(.sign, [u])
            case .erf: outer = .product(.number(2 / Double.pi.squareRoot()), .call(.exp, [.negated(.power(u, .number(2)))]))
            case .min, .max:
                // min(u, w)′ = H(w − u) u′ + H(u − w) w′ (max with the roles swapped).
                let w = args[1], dw = w.derivative(i)
                let (first, second) = f == .min ? (Formula.subtract(w, u), Formula.subtract(u, w)) : (.subtract(u, w), .subtract(w, u))
                return .sum(.product(.call(.step, [first]), du), .product(.call(.step, [second]), dw))
            case .sign, .step: return .number(0)
            }
            return .product(outer, du)
        }
    }

    // Builders that fold the trivial cases, so derivative trees stay small.
    static func sum(_ a: Formula, _ b: Formula) -> Formula {
        if case .number(0) = a { return b }
        if case .number(0) = b { return a }
        if case let .number(x) = a, case let .number(y) = b { return .number(x + y) }
        return .add(a, b)
    }

    static func negated(_ a: Formula) -> Formula {
        if case let .number(x) = a { return .number(-x) }
        return .negate(a)
    }

    static func product(_ a: Formula, _ b: Formula) -> Formula {
        if case .number(0) = a { return .number(0) }
        if case .number(0) = b { return .number(0) }
        if case .number(1) = a { return b }
        if case .number(1) = b { return a }
        if case let .number(x) = a, case let .number(y) = b { return .number(x * y) }
        return .multiply(a, b)
    }

    static func quotient(_ a: Formula, _ b: Formula) -> Formula {
        if case .number(0) = a { return .number(0) }
        if case .number(1) = b { return a }
        return .divide(a, b)
    }

    public var description: String {
        switch self {
        case let .number(v): return String(format: "%g", v)
        case let .variable(_, name): return name
        case let .negate(a): return "(-\(a))"
        case let .add(a, b): return "(\(a) + \(b))"
        case let .subtract(a, b): return "(\(a) - \(b))"
        case let .multiply(a, b): return "(\(a) * \(b))"
        case let .divide(a, b): return "(\(a) / \(b))"
        case let .power(a, b): return "(\(a) ^ \(b))"
        case let .call(f, args): return "\(f.rawValue)(" + args.map(\.description).joined(separator: ", ") + ")"
        }
    }
}
