import Foundation

/// Observed orders of accuracy between successive resolutions:
/// p_i = log(e_i / e_{i+1}) / log(h_i / h_{i+1}).
public func observedOrders(errors: [Double], spacings: [Double]) -> [Double] {
    precondition(errors.count == spacings.count && errors.count >= 2)
    var orders: [Double] = []
    for i in 0..<(errors.count - 1) {
        let errorRatio: Double = errors[i] / errors[i + 1]
        let spacingRatio: Double = spacings[i] / spacings[i + 1]
        orders.append(log(errorRatio) / log(spacingRatio))
    }
    return orders
}
