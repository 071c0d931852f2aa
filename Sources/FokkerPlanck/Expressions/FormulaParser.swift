import Foundation

/// Recursive-descent parser of the expression language:
///
///     expression := term (('+' | '-') term)*
///     term       := unary (('*' | '/') unary)*
///     unary      := ('+' | '-') unary | power
///     power      := primary ('^' unary)?          (right-associative; −x^2 = −(x^2))
///     primary    := number | name | name '(' expression (',' expression)* ')' | '(' expression ')'
public struct FormulaParser {
    public struct Failure: Error, CustomStringConvertible {
        public let message: String
        public var description: String { message }
    }

    let variables: [String]
    let parameters: [String: Double]
    private var characters: [Character] = []
    private var position = 0
    private var depth = 0

    /// Limits that keep every recursive walk of the parsed tree (parsing, evaluation, symbolic
    /// derivatives) far from the stack's end: a model expression is a line, not a program.
    /// Nesting (parentheses, function calls, signs) deeper than this is refused…
    public static let maximumNesting = 100
    /// …and so is a longer text, whose chains of + − * / would build trees as deep as they are long.
    public static let maximumLength = 4096

    /// - Parameters:
    ///   - variables: the names that become `.variable(i)` (the axis names);
    ///   - parameters: named numbers (from `[parameters]`), folded in.
    public init(variables: [String], parameters: [String: Double] = [:]) {
        self.variables = variables
        self.parameters = parameters
    }

    public mutating func parse(_ text: String) throws -> Formula {
        characters = Array(text)
        guard characters.count <= Self.maximumLength else {
            throw Failure(message: "the expression is \(characters.count) characters long; at most \(Self.maximumLength) are accepted")
        }
        position = 0
        depth = 0
        let result = try expression()
        skipSpaces()
        guard position == characters.count else { throw failure("unexpected '\(characters[position])'") }
        return result
    }

    private func failure(_ message: String) -> Failure {
        Failure(message: "\(message) at character \(position + 1) of the expression")
    }

    private mutating func skipSpaces() {
        while position < characters.count, characters[position].isWhitespace { position += 1 }
    }

    private mutating func accept(_ c: Character) -> Bool {
        skipSpaces()
        if position < characters.count, characters[position] == c { position += 1; return true }
        return false
    }

    /// Runs `body` one level deeper, refusing nesting beyond `maximumNesting`.
    private mutating func nested(_ body: (inout FormulaParser) throws -> Formula) throws -> Formula {
        depth += 1
        defer { depth -= 1 }
        guard depth <= Self.maximumNesting else {
            throw failure("the expression is nested more than \(Self.maximumNesting) levels deep")
        }
        return try body(&self)
    }

    private mutating func expression() throws -> Formula {
        try nested { try $0.sum() }
    }

    private mutating func sum() throws -> Formula {
        var result = try term()
        while true {
            if accept("+") { result = .add(result, try term()) }
            else if accept("-") { result = .subtract(result, try term()) }
            else { return result }
        }
    }

    private mutating func term() throws -> Formula {
        var result = try unary()
        while true {
            if accept("*") { result = .multiply(result, try unary()) }
            else if accept("/") { result = .divide(result, try unary()) }
            else { return result }
        }
    }

    private mutating func unary() throws -> Formula {
        if accept("-") { return .negate(try nested { try $0.unary() }) }
        if accept("+") { return try nested { try $0.unary() } }
        return try power()
    }

    private mutating func power() throws -> Formula {
        let base = try primary()
        if accept("^") { return .power(base, try nested { try $0.unary() }) }
        return base
    }

    private mutating func primary() throws -> Formula {
        skipSpaces()
        guard position < characters.count else { throw failure("the expression ends too early") }
        let c = characters[position]
        if accept("(") {
            let inner = try expression()
            guard accept(")") else { throw failure("missing ')'") }
            return inner
        }
        if c.isNumber || c == "." { return try number() }
        if c.isLetter || c == "_" { return try name() }
        throw failure("unexpected '\(c)'")
    }

    private mutating func number() throws -> Formula {
        let start = position
        while position < characters.count, characters[position].isNumber || characters[position] == "." { position += 1 }
        if position < characters.count, characters[position] == "e" || characters[position] == "E" {
            var look = position + 1
            if look < characters.count, characters[look] == "+" || characters[look] == "-" { look += 1 }
            if look < characters.count, characters[look].isNumber {
                position = look
                while position < characters.count, characters[position].isNumber { position += 1 }
            }
        }
        let text = String(characters[start..<position])
        guard let value = Double(text) else { throw failure("'\(text)' is not a number") }
        return .number(value)
    }

    private mutating func name() throws -> Formula {
        let start = position
        while position < characters.count, characters[position].isLetter || characters[position].isNumber || characters[position] == "_" {
            position += 1
        }
        let word = String(characters[start..<position])
        if accept("(") {
            guard let function = Formula.Function(rawValue: word), Formula.Function.userFunctions.contains(function) else {
                throw Failure(message: "unknown function '\(word)'; available: " + Formula.Function.userFunctions.map(\.rawValue).joined(separator: ", "))
            }
            var arguments = [try expression()]
            while accept(",") { arguments.append(try expression()) }
            guard accept(")") else { throw failure("missing ')' after the arguments of \(word)") }
            guard arguments.count == function.arity else {
                throw Failure(message: "\(word) takes \(function.arity) argument\(function.arity == 1 ? "" : "s"), found \(arguments.count)")
            }
            return .call(function, arguments)
        }
        if let index = variables.firstIndex(of: word) { return .variable(index, word) }
        if let value = parameters[word] { return .number(value) }
        if word == "pi" { return .number(Double.pi) }
        let known = (variables + parameters.keys.sorted()).joined(separator: ", ")
        throw Failure(message: "unknown name '\(word)'" + (known.isEmpty ? "" : "; the names here are: \(known)"))
    }
}
