import CHDF5
import Foundation

/// A value of an HDF5 attribute, as the library writes and reads them.
public enum AttributeValue: Sendable, Equatable, CustomStringConvertible {
    case string(String)
    case double(Double)
    case integer(Int)
    case doubles([Double])
    case integers([Int])

    public var description: String {
        switch self {
        case let .string(s): return s
        case let .double(d): return String(format: "%.10g", d)
        case let .integer(i): return String(i)
        case let .doubles(v): return "[" + v.map { String(format: "%.6g", $0) }.joined(separator: ", ") + "]"
        case let .integers(v): return "[" + v.map(String.init).joined(separator: ", ") + "]"
        }
    }
}

/// Thin, internal wrapper over the HDF5 C API (through the CHDF5 shim): files, datasets of doubles,
/// dimension scales and attributes. Every call is checked; failures throw `FokkerPlanckError.io`.
final class HDF5File {
    let path: String
    private(set) var id: hid_t

    private init(path: String, id: hid_t) {
        self.path = path
        self.id = id
    }

    /// Runs `fp_h5_prepare` once per process, before any other HDF5 call.
    private static let prepared: Bool = {
        fp_h5_prepare()
        return true
    }()

    /// Creates (truncating) a file with link and attribute creation order tracked, as netCDF-4 does.
    static func create(_ path: String) throws -> HDF5File {
        _ = prepared
        let fcpl = H5Pcreate(fp_h5p_file_create())
        defer { H5Pclose(fcpl) }
        H5Pset_link_creation_order(fcpl, fp_h5p_crt_order_tracked_indexed())
        H5Pset_attr_creation_order(fcpl, fp_h5p_crt_order_tracked_indexed())
        let id = H5Fcreate(path, fp_h5f_acc_trunc(), fcpl, fp_h5p_default())
        guard id >= 0 else { throw FokkerPlanckError.io("cannot create the HDF5 file \(path)") }
        return HDF5File(path: path, id: id)
    }

    static func open(_ path: String) throws -> HDF5File {
        _ = prepared
        // Only regular files: opening a FIFO would block, a device read would never end.
        let kind = FileKind(path)
        if case let .missing(error) = kind { throw FokkerPlanckError.io("\(path): \(String(cString: strerror(error)))") }
        guard kind.isRegular else { throw FokkerPlanckError.io("\(path) is not a regular file") }
        guard H5Fis_hdf5(path) > 0 else { throw FokkerPlanckError.io("\(path) is not an HDF5 file") }
        let id = H5Fopen(path, fp_h5f_acc_rdonly(), fp_h5p_default())
        guard id >= 0 else { throw FokkerPlanckError.io("cannot open the HDF5 file \(path)") }
        return HDF5File(path: path, id: id)
    }

    func close() throws {
        guard id >= 0 else { return }
        let status = H5Fclose(id)
        id = -1
        guard status >= 0 else { throw FokkerPlanckError.io("closing \(path) failed") }
    }

    deinit { if id >= 0 { H5Fclose(id) } }

    private func check(_ status: herr_t, _ what: @autoclosure () -> String) throws {
        guard status >= 0 else { throw FokkerPlanckError.io("\(path): \(what()) failed") }
    }

    // MARK: Writing

    /// Writes a dataset of doubles with the given shape (C order), optionally chunked and
    /// compressed; returns its id (caller closes with `closeDataset`).
    func writeDataset(_ name: String, shape: [Int], values: [Double], attributes: [(String, AttributeValue)] = [],
                      chunks: [Int]? = nil) throws -> hid_t {
        precondition(values.count == shape.reduce(1, *))
        var dims = shape.map { hsize_t($0) }
        let space = H5Screate_simple(Int32(dims.count), &dims, nil)
        defer { H5Sclose(space) }
        let dcpl = H5Pcreate(fp_h5p_dataset_create())
        defer { H5Pclose(dcpl) }
        if let chunks {
            var chunkDims = chunks.map { hsize_t($0) }
            try check(H5Pset_chunk(dcpl, Int32(chunkDims.count), &chunkDims), "chunking \(name)")
            try check(H5Pset_deflate(dcpl, 4), "compressing \(name)")
        }
        let dataset = H5Dcreate2(id, name, fp_h5t_ieee_f64le(), space, fp_h5p_default(), dcpl, fp_h5p_default())
        guard dataset >= 0 else { throw FokkerPlanckError.io("\(path): creating dataset \(name) failed") }
        try check(H5Dwrite(dataset, fp_h5t_native_double(), fp_h5s_all(), fp_h5s_all(), fp_h5p_default(), values),
                  "writing dataset \(name)")
        for (key, value) in attributes { try writeAttribute(key, value, on: dataset) }
        return dataset
    }

    func closeDataset(_ dataset: hid_t) { H5Dclose(dataset) }

    /// Creates an extendible dataset of frames: shape (0, frameShape…), unlimited along the first
    /// axis, chunked one frame at a time (scalar series in chunks of 1024) and compressed.
    func createFrameSeries(_ name: String, frameShape: [Int], attributes: [(String, AttributeValue)] = []) throws -> hid_t {
        var dims = [hsize_t(0)] + frameShape.map { hsize_t($0) }
        var maxDims = [fp_h5s_unlimited()] + frameShape.map { hsize_t($0) }
        let space = H5Screate_simple(Int32(dims.count), &dims, &maxDims)
        defer { H5Sclose(space) }
        let dcpl = H5Pcreate(fp_h5p_dataset_create())
        defer { H5Pclose(dcpl) }
        var chunk = [hsize_t(frameShape.isEmpty ? 1024 : 1)] + frameShape.map { hsize_t($0) }
        try check(H5Pset_chunk(dcpl, Int32(chunk.count), &chunk), "chunking \(name)")
        if !frameShape.isEmpty { try check(H5Pset_deflate(dcpl, 4), "compressing \(name)") }
        let dataset = H5Dcreate2(id, name, fp_h5t_ieee_f64le(), space, fp_h5p_default(), dcpl, fp_h5p_default())
        guard dataset >= 0 else { throw FokkerPlanckError.io("\(path): creating dataset \(name) failed") }
        for (key, value) in attributes { try writeAttribute(key, value, on: dataset) }
        return dataset
    }

    /// Writes frame `index` (extending the series to index + 1 frames).
    func appendFrame(_ dataset: hid_t, index: Int, frameShape: [Int], values: [Double]) throws {
        var extent = [hsize_t(index + 1)] + frameShape.map { hsize_t($0) }
        try check(H5Dset_extent(dataset, &extent), "extending a frame series")
        let fileSpace = H5Dget_space(dataset)
        defer { H5Sclose(fileSpace) }
        var start = [hsize_t(index)] + frameShape.map { _ in hsize_t(0) }
        var count = [hsize_t(1)] + frameShape.map { hsize_t($0) }
        try check(H5Sselect_hyperslab(fileSpace, H5S_SELECT_SET, &start, nil, &count, nil), "selecting a frame")
        let memorySpace = H5Screate_simple(Int32(count.count), &count, nil)
        defer { H5Sclose(memorySpace) }
        try check(H5Dwrite(dataset, fp_h5t_native_double(), memorySpace, fileSpace, fp_h5p_default(), values), "writing a frame")
    }

    /// Pushes what is written so far to disk.
    func flush() throws { try check(H5Fflush(id, H5F_SCOPE_GLOBAL), "flushing to disk") }

    /// True when `path` is an HDF5 file. Opens it: call it on regular files only (a FIFO blocks).
    static func isHDF5(_ path: String) -> Bool {
        _ = prepared
        return H5Fis_hdf5(path) > 0
    }

    /// The netCDF dimension id the next dimension scale gets.
    private var nextDimensionId: Int32 = 0

    /// Makes a 1-d dataset a dimension scale named `name`, with the next netCDF dimension id
    /// (`_Netcdf4Dimid`, a 32-bit integer as netCDF-C writes it): ids must be distinct, or
    /// netCDF-C merges two dimensions into one.
    func makeDimensionScale(_ dataset: hid_t, name: String) throws {
        try check(H5DSset_scale(dataset, name), "making \(name) a dimension scale")
        try writeNumericAttribute("_Netcdf4Dimid", [nextDimensionId], fileType: fp_h5t_std_i32le(), memoryType: fp_h5t_native_int(),
                                  scalar: true, on: dataset)
        nextDimensionId += 1
    }

    func attachScale(_ scale: hid_t, to dataset: hid_t, dimension: Int) throws {
        try check(H5DSattach_scale(dataset, scale, UInt32(dimension)), "attaching a dimension scale")
    }

    func writeRootAttribute(_ name: String, _ value: AttributeValue) throws {
        try writeAttribute(name, value, on: id)
    }

    func writeAttribute(_ name: String, _ value: AttributeValue, on object: hid_t) throws {
        switch value {
        case let .string(s):
            // Fixed-length, as netCDF-C writes NC_CHAR text: variable-length strings (NC_STRING)
            // are ignored by VTK's netCDF readers and refused by the netCDF classic formats.
            let bytes = Array(s.utf8)
            let type = H5Tcopy(fp_h5t_c_s1())
            defer { H5Tclose(type) }
            try check(H5Tset_size(type, max(bytes.count, 1)), "sizing attribute \(name)")
            H5Tset_strpad(type, H5T_STR_NULLTERM)
            H5Tset_cset(type, H5T_CSET_UTF8)
            let space = H5Screate(H5S_SCALAR)
            defer { H5Sclose(space) }
            let attribute = H5Acreate2(object, name, type, space, fp_h5p_default(), fp_h5p_default())
            guard attribute >= 0 else { throw FokkerPlanckError.io("\(path): creating attribute \(name) failed") }
            defer { H5Aclose(attribute) }
            let buffer = bytes.isEmpty ? [UInt8(0)] : bytes
            try check(H5Awrite(attribute, type, buffer), "writing attribute \(name)")
        case let .double(d):
            try writeNumericAttribute(name, [d], fileType: fp_h5t_ieee_f64le(), memoryType: fp_h5t_native_double(), scalar: true, on: object)
        case let .doubles(v):
            try writeNumericAttribute(name, v, fileType: fp_h5t_ieee_f64le(), memoryType: fp_h5t_native_double(), scalar: false, on: object)
        case let .integer(i):
            try writeIntegerAttribute(name, [i], scalar: true, on: object)
        case let .integers(v):
            try writeIntegerAttribute(name, v, scalar: false, on: object)
        }
    }

    /// Integers as 32-bit (netCDF NC_INT: the classic formats have no 64-bit integers); values
    /// beyond its range as doubles.
    private func writeIntegerAttribute(_ name: String, _ values: [Int], scalar: Bool, on object: hid_t) throws {
        if values.allSatisfy({ Int32(exactly: $0) != nil }) {
            try writeNumericAttribute(name, values.map { Int32($0) }, fileType: fp_h5t_std_i32le(), memoryType: fp_h5t_native_int(),
                                      scalar: scalar, on: object)
        } else {
            try writeNumericAttribute(name, values.map(Double.init), fileType: fp_h5t_ieee_f64le(), memoryType: fp_h5t_native_double(),
                                      scalar: scalar, on: object)
        }
    }

    private func writeNumericAttribute<T>(_ name: String, _ values: [T], fileType: hid_t, memoryType: hid_t, scalar: Bool,
                                          on object: hid_t) throws {
        var dims = [hsize_t(values.count)]
        let space = scalar ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &dims, nil)
        defer { H5Sclose(space) }
        let attribute = H5Acreate2(object, name, fileType, space, fp_h5p_default(), fp_h5p_default())
        guard attribute >= 0 else { throw FokkerPlanckError.io("\(path): creating attribute \(name) failed") }
        defer { H5Aclose(attribute) }
        try values.withUnsafeBufferPointer { buffer in
            try check(H5Awrite(attribute, memoryType, buffer.baseAddress), "writing attribute \(name)")
        }
    }

    // MARK: Reading

    /// Names of the objects in the root group, in creation order where tracked.
    func rootMembers() throws -> [String] {
        var info = H5G_info_t()
        try check(H5Gget_info(id, &info), "listing the root group")
        return try (0..<Int(info.nlinks)).map { index in
            let size = H5Lget_name_by_idx(id, ".", H5_INDEX_NAME, H5_ITER_INC, hsize_t(index), nil, 0, fp_h5p_default())
            guard size >= 0 else { throw FokkerPlanckError.io("\(path): reading member names failed") }
            var buffer = [CChar](repeating: 0, count: Int(size) + 1)
            H5Lget_name_by_idx(id, ".", H5_INDEX_NAME, H5_ITER_INC, hsize_t(index), &buffer, size + 1, fp_h5p_default())
            return String(decoding: buffer.prefix(Int(size)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
    }

    func isDataset(_ name: String) -> Bool { fp_h5_is_dataset(id, name) == 1 }

    /// Opens a dataset; close with `closeDataset`.
    func openDataset(_ name: String) throws -> hid_t {
        let dataset = H5Dopen2(id, name, fp_h5p_default())
        guard dataset >= 0 else { throw FokkerPlanckError.io("\(path): no dataset \(name)") }
        return dataset
    }

    func shape(of dataset: hid_t) -> [Int] {
        let space = H5Dget_space(dataset)
        defer { H5Sclose(space) }
        let rank = Int(H5Sget_simple_extent_ndims(space))
        var dims = [hsize_t](repeating: 0, count: max(rank, 1))
        H5Sget_simple_extent_dims(space, &dims, nil)
        return dims.prefix(rank).map { Int($0) }
    }

    /// The shape of a dataset, read from its header without reading any data.
    func shape(ofDataset name: String) throws -> [Int] {
        let dataset = try openDataset(name)
        defer { H5Dclose(dataset) }
        return shape(of: dataset)
    }

    /// Reads entry `index` along the first axis of a dataset (one frame of a (time, …) series, or
    /// one value of a 1-d one) without reading the others.
    func readSlice(_ name: String, index: Int) throws -> [Double] {
        let dataset = try openDataset(name)
        defer { H5Dclose(dataset) }
        let shape = self.shape(of: dataset)
        guard let first = shape.first, index >= 0, index < first else {
            throw FokkerPlanckError.io("\(path): dataset \(name) has no entry \(index) along its first axis")
        }
        let fileSpace = H5Dget_space(dataset)
        defer { H5Sclose(fileSpace) }
        var start = [hsize_t(index)] + shape.dropFirst().map { _ in hsize_t(0) }
        var count = [hsize_t(1)] + shape.dropFirst().map { hsize_t($0) }
        try check(H5Sselect_hyperslab(fileSpace, H5S_SELECT_SET, &start, nil, &count, nil), "selecting entry \(index) of \(name)")
        let memorySpace = H5Screate_simple(Int32(count.count), &count, nil)
        defer { H5Sclose(memorySpace) }
        var values = [Double](repeating: 0, count: shape.dropFirst().reduce(1, *))
        try check(H5Dread(dataset, fp_h5t_native_double(), memorySpace, fileSpace, fp_h5p_default(), &values), "reading \(name)")
        return values
    }

    /// Reads a dataset of doubles; refuses (before allocating) one of more than `maxElements`
    /// values, so that a small file declaring a huge dataset cannot exhaust memory.
    func readDoubles(_ name: String, maxElements: Int = 1 << 28) throws -> (shape: [Int], values: [Double]) {
        let dataset = try openDataset(name)
        defer { H5Dclose(dataset) }
        let shape = self.shape(of: dataset)
        let count = shape.reduce(1.0) { $0 * Double($1) }
        guard count <= Double(maxElements) else {
            throw FokkerPlanckError.io("\(path): dataset \(name) declares \(shape) = \(String(format: "%.3g", count)) values, more than the \(maxElements) expected here")
        }
        var values = [Double](repeating: 0, count: shape.reduce(1, *))
        try check(H5Dread(dataset, fp_h5t_native_double(), fp_h5s_all(), fp_h5s_all(), fp_h5p_default(), &values),
                  "reading \(name)")
        return (shape, values)
    }

    /// All attributes of an object (the root when `object` is nil), in name order.
    func attributes(of object: hid_t? = nil) throws -> [(String, AttributeValue)] {
        let target = object ?? id
        let count = fp_h5_num_attrs(target)
        guard count >= 0 else { throw FokkerPlanckError.io("\(path): reading attributes failed") }
        var result: [(String, AttributeValue)] = []
        for index in 0..<Int(count) {
            let attribute = H5Aopen_by_idx(target, ".", H5_INDEX_NAME, H5_ITER_INC, hsize_t(index), fp_h5p_default(), fp_h5p_default())
            guard attribute >= 0 else { continue }
            defer { H5Aclose(attribute) }
            let nameSize = H5Aget_name(attribute, 0, nil)
            var nameBuffer = [CChar](repeating: 0, count: Int(nameSize) + 1)
            H5Aget_name(attribute, nameBuffer.count, &nameBuffer)
            let name = String(decoding: nameBuffer.prefix(Int(nameSize)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if let value = readAttribute(attribute) { result.append((name, value)) }
        }
        return result
    }

    private func readAttribute(_ attribute: hid_t) -> AttributeValue? {
        let type = H5Aget_type(attribute)
        defer { H5Tclose(type) }
        let space = H5Aget_space(attribute)
        defer { H5Sclose(space) }
        let count = Int(H5Sget_simple_extent_npoints(space))
        let scalar = H5Sget_simple_extent_ndims(space) == 0
        switch fp_h5_type_kind(type) {
        case 2:
            if H5Tis_variable_str(type) > 0 {
                var pointer: UnsafeMutablePointer<CChar>? = nil
                let memoryType = H5Tcopy(fp_h5t_c_s1())
                defer { H5Tclose(memoryType) }
                H5Tset_size(memoryType, fp_h5t_variable())
                H5Tset_cset(memoryType, H5Tget_cset(type))
                guard H5Aread(attribute, memoryType, &pointer) >= 0, let pointer else { return nil }
                defer { H5free_memory(pointer) }
                return .string(String(cString: pointer))
            }
            let size = H5Tget_size(type)
            var buffer = [CChar](repeating: 0, count: size * max(count, 1) + 1)
            guard H5Aread(attribute, type, &buffer) >= 0 else { return nil }
            return .string(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        case 0:
            var values = [Int64](repeating: 0, count: max(count, 1))
            guard H5Aread(attribute, fp_h5t_native_llong(), &values) >= 0 else { return nil }
            return scalar || count == 1 ? .integer(Int(values[0])) : .integers(values.map { Int($0) })
        case 1:
            var values = [Double](repeating: 0, count: max(count, 1))
            guard H5Aread(attribute, fp_h5t_native_double(), &values) >= 0 else { return nil }
            return scalar || count == 1 ? .double(values[0]) : .doubles(values)
        default:
            return nil
        }
    }
}
