import Foundation

/// What an output file holds: its datasets with shapes and descriptions, and its root attributes.
/// Used by `fpsolve inspect`, and by tests to read results back.
public struct OutputSummary: Sendable {
    public struct Dataset: Sendable {
        public let name: String
        public let shape: [Int]
        public let attributes: [(String, AttributeValue)]
        public var longName: String? {
            attributes.first { $0.0 == "long_name" }.map { $0.1.description }
        }
    }

    public let path: String
    public let datasets: [Dataset]
    public let attributes: [(String, AttributeValue)]

    public init(contentsOf path: String) throws {
        let file = try HDF5File.open(path)
        defer { try? file.close() }
        self.path = path
        var datasets: [Dataset] = []
        for name in try file.rootMembers() where file.isDataset(name) {
            let id = try file.openDataset(name)
            defer { file.closeDataset(id) }
            let attributes = try file.attributes(of: id).filter { !Self.internalAttributes.contains($0.0) }
            datasets.append(Dataset(name: name, shape: file.shape(of: id), attributes: attributes))
        }
        self.datasets = datasets
        attributes = try file.attributes()
    }

    /// HDF5 dimension-scale bookkeeping, not for people.
    static let internalAttributes: Set<String> = ["CLASS", "NAME", "REFERENCE_LIST", "DIMENSION_LIST", "_Netcdf4Dimid"]

    public func attribute(_ name: String) -> AttributeValue? { attributes.first { $0.0 == name }?.1 }

    /// Reads one dataset of doubles.
    public static func read(_ name: String, from path: String) throws -> (shape: [Int], values: [Double]) {
        let file = try HDF5File.open(path)
        defer { try? file.close() }
        return try file.readDoubles(name)
    }
}
