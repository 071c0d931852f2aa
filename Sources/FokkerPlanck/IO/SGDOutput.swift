import Foundation

/// The extra datasets of an `sgd` solution (Chaudhari & Soatto, THEORY §2), on the density's grid
/// (a `general` model gets the last three):
///
/// * `/loss` — f(z), shifted to min 0 on the grid, beside `/potential` (Φ = −β⁻¹ log ρ, min 0);
/// * `/potential_minus_loss` — Φ − f: zero only when D = I (D = cI gives Φ = f/c);
/// * `/divergence_velocity` — ∇·j of the leftover field j = J/ρ (centred differences of the cell
///   values; one-sided at walls, wrapped across periodic seams): non-zero in general;
/// * `/divergence_current` — ∇·(ρ j) = ∇·J: for finite volumes the scheme's own discrete
///   divergence −Lρ (zero to round-off at stationarity); for a spectral state the centred
///   differences of its current on the output grid;
/// * `/velocity_dot_grad_potential` — j·∇Φ (centred differences of Φ): ∇·(ρj) = 0 is
///   ∇·j = β j·∇Φ, which the two fields let one check.
enum SGDOutput {
    /// `fields`: the solution's derived fields (computed once by the writer).
    static func datasets(parameters: SGDParameters?, fields: DerivedFields, state: [Double],
                         discretization: any Discretization) -> [SGDMomentumOutput.Dataset] {
        let grid = discretization.grid, d = grid.dimension
        let velocityDivergence = divergence(fields.velocity, grid: grid)
        let currentDivergence: [Double]
        let currentDescription: String
        if discretization.unknownsAreCells {
            // One more assembly (a small fraction of the factorization) rather than keeping L.
            currentDivergence = discretization.assemble().multiply(state).map { -$0 }
            currentDescription = "∇·(ρ j) = ∇·J, the scheme's discrete divergence −Lρ (zero to round-off at stationarity)"
        } else {
            currentDivergence = divergence(fields.current, grid: grid)
            currentDescription = "∇·(ρ j) = ∇·J, centred differences of the current on the output grid"
        }
        let gradient = (0..<d).map { partial(fields.potential, axis: $0, grid: grid) }
        var dot = [Double](repeating: 0, count: grid.cellCount)
        for c in 0..<grid.cellCount { dot[c] = (0..<d).reduce(0) { $0 + fields.velocity[$1][c] * gradient[$1][c] } }
        let axes = Array(0..<d)
        func dataset(_ name: String, _ values: [Double], _ description: String) -> SGDMomentumOutput.Dataset {
            .init(name: name, axes: axes, shape: grid.shape, values: values,
                  attributes: [("long_name", .string(description)), ("units", .string("1"))])
        }
        var result: [SGDMomentumOutput.Dataset] = []
        if let parameters {
            var x = [Double](repeating: 0, count: d)
            var loss = [Double](repeating: 0, count: grid.cellCount)
            for c in 0..<grid.cellCount {
                grid.centre(c, into: &x)
                loss[c] = parameters.loss(at: x)
            }
            let lowest = loss.filter(\.isFinite).min() ?? 0
            loss = loss.map { $0 - lowest }
            result += [
                dataset("loss", loss, "loss f (min 0 on the grid), to compare with the potential Φ = −β⁻¹ log ρ"),
                dataset("potential_minus_loss", zip(fields.potential, loss).map { $0 - $1 }, "Φ − f (both min 0): zero only when D = I"),
            ]
        }
        return result + [
            dataset("divergence_velocity", velocityDivergence, "∇·j of the leftover field j = J/ρ (centred differences)"),
            dataset("divergence_current", currentDivergence, currentDescription),
            dataset("velocity_dot_grad_potential", dot, "j·∇Φ (centred differences of Φ); stationarity means ∇·j = β j·∇Φ"),
        ]
    }

    /// Σ_k ∂_k v_k by centred differences (`partial`).
    static func divergence(_ v: [[Double]], grid: Grid) -> [Double] {
        var result = [Double](repeating: 0, count: grid.cellCount)
        for k in 0..<grid.dimension {
            let dk = partial(v[k], axis: k, grid: grid)
            for c in 0..<grid.cellCount { result[c] += dk[c] }
        }
        return result
    }

    /// ∂_k f at the cell centres: centred, one-sided at a wall, wrapped across a periodic seam.
    static func partial(_ f: [Double], axis k: Int, grid: Grid) -> [Double] {
        let axis = grid.axes[k], n = axis.cells, h = axis.spacing, stride = grid.strides[k]
        var index = [Int](repeating: 0, count: grid.dimension)
        var result = [Double](repeating: .nan, count: grid.cellCount)
        for c in 0..<grid.cellCount {
            grid.multiIndex(c, into: &index)
            let i = index[k]
            if i > 0 && i < n - 1 {
                result[c] = (f[c + stride] - f[c - stride]) / (2 * h)
            } else if axis.boundary == .periodic {
                let plus = i == n - 1 ? c - (n - 1) * stride : c + stride
                let minus = i == 0 ? c + (n - 1) * stride : c - stride
                result[c] = (f[plus] - f[minus]) / (2 * h)
            } else {
                result[c] = i == 0 ? (f[c + stride] - f[c]) / h : (f[c] - f[c - stride]) / h
            }
        }
        return result
    }
}
