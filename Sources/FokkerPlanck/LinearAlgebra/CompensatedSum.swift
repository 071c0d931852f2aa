import Foundation

/// Neumaier's compensated summation: the rounding error of each addition is kept and added back,
/// so a running sum of n terms errs by O(ε) rather than O(nε).
public struct CompensatedSum {
    private var sum = 0.0, compensation = 0.0
    public init() {}
    public mutating func add(_ x: Double) {
        let t = sum + x
        compensation += abs(sum) >= abs(x) ? (sum - t) + x : (x - t) + sum
        sum = t
    }
    public var value: Double { sum + compensation }
}
