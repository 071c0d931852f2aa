import CLapack
import Foundation

/// exp(τA) v for A = M⁻¹L (a Galerkin method's M dc/dt = L c) by shift-and-invert Krylov: the
/// Arnoldi basis of Z = (I − γA)⁻¹ = (M − γL)⁻¹ M, with Z V_m = V_{m+1} H̲_m, gives
///
///     exp(τA) v ≈ β V_m exp((τ/γ)(I − H_m⁻¹)) e₁
///
/// (van den Eshof & Hochbruck, SIAM J. Sci. Comput. 27, 2006). Its convergence depends on τ/γ,
/// not on ‖τA‖: a spectral method's generator, whose largest eigenvalues grow like modes⁴, needs
/// hundreds of polynomial Krylov vectors per frame (measured: 64² Legendre modes, 11 s for 20
/// frames) and here a few tens of solves with one LU of M − γL, factored once for every frame.
///
/// The basis grows until the coefficients of two successive approximations differ by less than
/// `tolerance` · β (the usual a-posteriori estimate of this method), at most `maximumBasis`.
public final class RationalKrylovExponential {
    public let time: Double
    /// γ = τ/10: the choice the reference recommends for tolerances down to round-off.
    public let shift: Double
    public var tolerance = 1e-11
    public var maximumBasis = 80
    let mass: SparseMatrix
    let generator: SparseMatrix
    let system: DirectLinearSystem
    public private(set) var solves = 0

    public convenience init(generator: SparseMatrix, mass: SparseMatrix, time: Double) throws {
        try self.init(generator: generator, mass: mass, time: time, depth: 0)
    }

    private init(generator: SparseMatrix, mass: SparseMatrix, time: Double, depth: Int) throws {
        self.time = time
        self.depth = depth
        self.generator = generator
        shift = time / 10
        self.mass = mass
        system = try DirectLinearSystem(mass.combined(1, generator, -shift), ordering: .automatic, dimension: 1, refine: false)
    }

    public var statistics: FactorizationStatistics { system.statistics }

    /// exp(τA) as exp(½τA)², when the basis for τ does not converge (observed at some frame
    /// intervals, e.g. 64² Legendre modes at τ = 4 and 5 but not 4.5): created when first needed,
    /// down to τ/64.
    private var halves: RationalKrylovExponential?
    private let depth: Int

    /// exp(τA) v, halving τ (up to 6 times) where the Krylov basis does not converge.
    public func apply(_ v: [Double]) throws -> [Double] {
        do {
            return try applyOnce(v)
        } catch let error as NotConverged {
            guard depth < 6 else {
                throw FokkerPlanckError.solverFailed(String(format: "the shift-and-invert Krylov exponential did not converge in %d vectors even at τ = %g; use scheme = \"bdf2\"", error.vectors, time))
            }
            if halves == nil {
                halves = try RationalKrylovExponential(generator: generator, mass: mass, time: time / 2, depth: depth + 1)
            }
            return try halves!.apply(halves!.apply(v))
        }
    }

    private struct NotConverged: Error { let vectors: Int }

    private func applyOnce(_ v: [Double]) throws -> [Double] {
        let n = v.count
        let beta = cblas_dnrm2(Int32(n), v, 1)
        guard beta > 0 else { return v }
        let m = min(maximumBasis, n)
        var basis = [Double](repeating: 0, count: (m + 1) * n)
        for i in 0..<n { basis[i] = v[i] / beta }
        var h = Matrix(rows: m + 1, columns: m)
        var w = [Double](repeating: 0, count: n)
        var coefficients = [Double](repeating: 0, count: m + 1), scratch = coefficients
        var previous: [Double] = []
        var converged = 0
        for j in 0..<m {
            let column = Array(basis[(j * n)..<((j + 1) * n)])
            w = try system.solve(mass.multiply(column))
            solves += 1
            let before = cblas_dnrm2(Int32(n), w, 1)
            orthogonalizeCGS2(&w, against: basis, count: j + 1, coefficients: &scratch, scratch: &coefficients)
            for i in 0...j { h[i, j] = scratch[i] }
            let norm = cblas_dnrm2(Int32(n), w, 1)
            h[j + 1, j] = norm
            let size = j + 1
            // u = β exp((τ/γ)(I − H⁻¹)) e₁ on the leading size × size block.
            var square = Matrix(rows: size, columns: size)
            for r in 0..<size { for c in 0..<size { square[r, c] = h[r, c] } }
            let inverse = try square.inverse()
            var generator = Matrix(rows: size, columns: size)
            let ratio = time / shift
            for r in 0..<size { for c in 0..<size { generator[r, c] = ratio * ((r == c ? 1 : 0) - inverse[r, c]) } }
            let e = try generator.exponential()
            let u = (0..<size).map { beta * e[$0, 0] }
            // Invariant subspace: Z v_j lies in the basis (relative to its own size, not to ‖v‖), or
            // the basis spans the whole space.
            let invariant = norm <= 1e-14 * before || size == n
            if !previous.isEmpty || invariant {
                var change = 0.0
                for r in 0..<size { change += pow(u[r] - (r < previous.count ? previous[r] : 0), 2) }
                converged = change.squareRoot() <= tolerance * beta ? converged + 1 : 0
            }
            previous = u
            if converged >= 2 || invariant || j == m - 1 {
                guard converged >= 2 || invariant else { throw NotConverged(vectors: m) }
                var result = [Double](repeating: 0, count: n)
                basis.withUnsafeBufferPointer { b in
                    cblas_dgemv(CblasRowMajor, CblasTrans, Int32(size), Int32(n), 1, b.baseAddress, Int32(n), u, 1, 0, &result, 1)
                }
                return result
            }
            let inverseNorm = 1 / norm
            for i in 0..<n { basis[(j + 1) * n + i] = w[i] * inverseNorm }
        }
        fatalError("unreachable")
    }
}
