import Foundation

/// A `Formula` flattened into postfix instructions for a small value stack: the same operations in
/// the same order as `Formula.evaluate` (so the same bits), without walking boxed enum nodes.
/// Expression models evaluate their coefficients millions of times per assembly (3 Gauss nodes on
/// every face, every cell centre): the tree walk made assembly cost more than the factorization.
public struct CompiledFormula: Sendable {
    enum Instruction: Sendable {
        case constant(Double)
        case variable(Int)
        case negate, add, subtract, multiply, divide, square, power
        case call(Formula.Function)
    }

    let instructions: [Instruction]
    let depth: Int

    public init(_ formula: Formula) {
        var program: [Instruction] = []
        var depth = 0, current = 0
        func push() { current += 1; depth = Swift.max(depth, current) }
        func emit(_ f: Formula) {
            switch f {
            case let .number(v): program.append(.constant(v)); push()
            case let .variable(i, _): program.append(.variable(i)); push()
            case let .negate(a): emit(a); program.append(.negate)
            case let .add(a, b): emit(a); emit(b); program.append(.add); current -= 1
            case let .subtract(a, b): emit(a); emit(b); program.append(.subtract); current -= 1
            case let .multiply(a, b): emit(a); emit(b); program.append(.multiply); current -= 1
            case let .divide(a, b): emit(a); emit(b); program.append(.divide); current -= 1
            case let .power(a, b):
                if case let .number(n) = b, n == 2 {
                    emit(a); program.append(.square)
                } else {
                    emit(a); emit(b); program.append(.power); current -= 1
                }
            case let .call(function, arguments):
                for argument in arguments { emit(argument) }
                program.append(.call(function))
                current -= arguments.count - 1
            }
        }
        emit(formula)
        instructions = program
        self.depth = Swift.max(depth, 1)
    }

    /// The value at x (x[i] is the variable with index i), equal to `Formula.evaluate(x)`.
    @inline(__always)
    public func evaluate(_ x: [Double]) -> Double {
        x.withUnsafeBufferPointer { evaluate($0) }
    }

    public func evaluate(_ x: UnsafeBufferPointer<Double>) -> Double {
        if instructions.count == 1 {
            switch instructions[0] {
            case let .constant(v): return v
            case let .variable(i): return x[i]
            default: break
            }
        }
        return withUnsafeTemporaryAllocation(of: Double.self, capacity: depth) { stack in
            var top = -1
            for instruction in instructions {
                switch instruction {
                case let .constant(v): top += 1; stack[top] = v
                case let .variable(i): top += 1; stack[top] = x[i]
                case .negate: stack[top] = -stack[top]
                case .add: top -= 1; stack[top] = stack[top] + stack[top + 1]
                case .subtract: top -= 1; stack[top] = stack[top] - stack[top + 1]
                case .multiply: top -= 1; stack[top] = stack[top] * stack[top + 1]
                case .divide: top -= 1; stack[top] = stack[top] / stack[top + 1]
                case .square: let u = stack[top]; stack[top] = u * u
                case .power: top -= 1; stack[top] = Foundation.pow(stack[top], stack[top + 1])
                case let .call(function):
                    let u = stack[top]
                    switch function {
                    case .exp: stack[top] = Foundation.exp(u)
                    case .log: stack[top] = Foundation.log(u)
                    case .sqrt: stack[top] = u.squareRoot()
                    case .sin: stack[top] = Foundation.sin(u)
                    case .cos: stack[top] = Foundation.cos(u)
                    case .tan: stack[top] = Foundation.tan(u)
                    case .atan: stack[top] = Foundation.atan(u)
                    case .tanh: stack[top] = Foundation.tanh(u)
                    case .abs: stack[top] = Swift.abs(u)
                    case .erf: stack[top] = Foundation.erf(u)
                    case .min:
                        top -= 1
                        let a = stack[top]
                        stack[top] = a.isNaN || u.isNaN ? .nan : Swift.min(a, u)
                    case .max:
                        top -= 1
                        let a = stack[top]
                        stack[top] = a.isNaN || u.isNaN ? .nan : Swift.max(a, u)
                    case .sign: stack[top] = u > 0 ? 1 : (u < 0 ? -1 : (u == 0 ? 0 : .nan))
                    case .step: stack[top] = u > 0 ? 1 : (u < 0 ? 0 : (u == 0 ? 0.5 : .nan))
                    }
                }
            }
            return stack[0]
        }
    }
}
