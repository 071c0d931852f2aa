import Foundation

/// The stationary density of underdamped Langevin dynamics on a box: the Boltzmann weight
/// ρ(x, v) = exp(−(U(x) + m|v|²/2)/T) / Z, normalised over the box. Z is computed by the midpoint
/// rule on a grid 8× finer per axis than the box's own (for a smooth weight that decays towards
/// the walls the midpoint rule converges faster than any power of h, so Z is exact far below
/// the discretization error of any grid it is compared with).
public struct LangevinBoltzmann: Sendable {
    public let model: LangevinModel
    public let normalisation: Double

    public init(model: LangevinModel, box: Grid) {
        self.model = model
        let fine = box.withCells(box.shape.map { 8 * $0 })
        var sum = 0.0, compensation = 0.0
        var z = [Double](repeating: 0, count: fine.dimension)
        for c in 0..<fine.cellCount {
            fine.centre(c, into: &z)
            let w = exp(-model.energy(at: z) / model.temperature)
            let t = sum + w
            compensation += abs(sum) >= abs(w) ? (sum - t) + w : (w - t) + sum
            sum = t
        }
        normalisation = (sum + compensation) * fine.cellVolume
    }

    public func density(at z: [Double]) -> Double { exp(-model.energy(at: z) / model.temperature) / normalisation }
}
