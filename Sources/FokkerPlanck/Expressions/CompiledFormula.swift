import Foundation

/// A `Formula` flattened into postfix instructions for a small value stack: the same operations on
/// the same operands as `Formula.evaluate` (so the same bits), without walking boxed enum nodes,
/// and each repeated subexpression computed once.
/// Expression models evaluate their coefficients millions of times per assembly (3 Gauss nodes on
/// every face, every cell centre): the tree walk made assembly cost more than the factorization.
public struct CompiledFormula: Sendable {
    enum Instruction: Sendable {
        case constant(Double)
        case variable(Int)
        case negate, add, subtract, multiply, divide, square, power
        case call(Formula.Function)
        /// Copies the top of the stack into a slot (a subexpression used again later)…
        case store(Int)
        /// …and pushes it back where it recurs.
        case load(Int)
    }

    let instructions: [Instruction]
    let depth: Int
    let slots: Int

    /// One node of the expression as a DAG: identical subexpressions (same operation, same
    /// operands, the same bits of every number) share an id, and are computed once — sin(x + y)
    /// written three times costs one sine.
    private struct Node: Hashable {
        var operation: Int
        var children: [Int]
        var payload: UInt64
    }

    public init(_ formula: Formula) {
        var ids: [Node: Int] = [:]
        var nodes: [Node] = []
        func intern(_ node: Node) -> Int {
            if let id = ids[node] { return id }
            ids[node] = nodes.count
            nodes.append(node)
            return nodes.count - 1
        }
        // Operation codes: 0 number, 1 variable, 2 negate, 3 add, 4 subtract, 5 multiply, 6 divide,
        // 7 square, 8 power, 100 + function index.
        func build(_ f: Formula) -> Int {
            switch f {
            case let .number(v): return intern(Node(operation: 0, children: [], payload: v.bitPattern))
            case let .variable(i, _): return intern(Node(operation: 1, children: [], payload: UInt64(i)))
            case let .negate(a): return intern(Node(operation: 2, children: [build(a)], payload: 0))
            case let .add(a, b): return intern(Node(operation: 3, children: [build(a), build(b)], payload: 0))
            case let .subtract(a, b): return intern(Node(operation: 4, children: [build(a), build(b)], payload: 0))
            case let .multiply(a, b): return intern(Node(operation: 5, children: [build(a), build(b)], payload: 0))
            case let .divide(a, b): return intern(Node(operation: 6, children: [build(a), build(b)], payload: 0))
            case let .power(a, b):
                if case let .number(n) = b, n == 2 { return intern(Node(operation: 7, children: [build(a)], payload: 0)) }
                return intern(Node(operation: 8, children: [build(a), build(b)], payload: 0))
            case let .call(function, arguments):
                let index = Formula.Function.allCases.firstIndex(of: function)!
                return intern(Node(operation: 100 + index, children: arguments.map(build), payload: 0))
            }
        }
        let root = build(formula)
        // References to each node from the DAG's other nodes (a node is emitted once).
        var uses = [Int](repeating: 0, count: nodes.count)
        for node in nodes { for child in node.children { uses[child] += 1 } }
        var slotOf = [Int?](repeating: nil, count: nodes.count)
        var program: [Instruction] = []
        var depth = 0, current = 0, slots = 0
        func push() { current += 1; depth = Swift.max(depth, current) }
        func emit(_ id: Int) {
            if let slot = slotOf[id] { program.append(.load(slot)); push(); return }
            let node = nodes[id]
            for child in node.children { emit(child) }
            switch node.operation {
            case 0: program.append(.constant(Double(bitPattern: node.payload))); push()
            case 1: program.append(.variable(Int(node.payload))); push()
            case 2: program.append(.negate)
            case 3: program.append(.add); current -= 1
            case 4: program.append(.subtract); current -= 1
            case 5: program.append(.multiply); current -= 1
            case 6: program.append(.divide); current -= 1
            case 7: program.append(.square)
            case 8: program.append(.power); current -= 1
            default:
                program.append(.call(Formula.Function.allCases[node.operation - 100]))
                current -= node.children.count - 1
            }
            // Worth a slot only when it recurs and is more than a leaf.
            if uses[id] > 1 && !node.children.isEmpty {
                slotOf[id] = slots
                program.append(.store(slots))
                slots += 1
            }
        }
        emit(root)
        instructions = program
        self.depth = Swift.max(depth, 1)
        self.slots = slots
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
        return withUnsafeTemporaryAllocation(of: Double.self, capacity: depth + slots) { stack in
            var top = -1
            let saved = depth
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
                case let .store(slot): stack[saved + slot] = stack[top]
                case let .load(slot): top += 1; stack[top] = stack[saved + slot]
                }
            }
            return stack[0]
        }
    }
}
