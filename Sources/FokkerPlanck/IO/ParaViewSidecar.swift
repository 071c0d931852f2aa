import Foundation

/// The ParaView sidecar of an output `NAME.h5`: a VTK collection `NAME.pvd` beside it that points
/// to VTK XML image files (`.vti`) in the folder `NAME_vtk/`. ParaView opens `.pvd` with its one
/// PVD reader, by extension, with time steps.
///
/// Why a copy in VTK's own format rather than an XDMF file pointing into the HDF5: (1) ParaView
/// 5.11 offers three readers for `.xmf`/`.xdmf` and picks the Xdmf3 one, which does not load a
/// temporal collection whose frames are hyperslabs of one (time, …) dataset — our evolve layout;
/// (2) VTK puts its first index on X, so a C-order (θ, v) array would show θ vertical: the image
/// has to be written with axis 0 fastest; (3) the current must be one 3-component vector for the
/// stream tracer, not d separate datasets. The price is a second copy of the fields (the
/// disk-space check counts it); the HDF5 file stays the reference.
///
/// Layout: each image holds point data at the cell centres (origin = first centre, spacing = h),
/// axis k of the grid on VTK axis k (X, Y, Z), values in Float64 with axis 0 fastest; arrays
/// `density`, `potential` and `modified_loss` (scalars), `current` and `velocity` (3 components,
/// zero beyond d). Grids of 1–3 axes give one image per state; 4-d grids give the 2-d and 3-d
/// marginals (∫ρ and ∫J over the other axes: the marginal density and its own current), named
/// `marginal_<a>-<b>[-<c>]`, one part each.
public enum ParaViewSidecar {
    public struct Paths: Sendable, Equatable {
        /// `NAME.pvd`.
        public let collection: String
        /// `NAME_vtk/`.
        public let folder: String
    }

    static let folderSuffix = "_vtk"
    /// Written into every collection: how an existing `.pvd` is recognised as ours.
    static let marker = "<!-- written by fpsolve"

    public static func paths(for output: String) -> Paths {
        let url = URL(fileURLWithPath: output)
        let stem = url.pathExtension == "h5" ? url.deletingPathExtension().lastPathComponent : url.lastPathComponent
        let directory = url.deletingLastPathComponent()
        return Paths(collection: directory.appendingPathComponent(stem + ".pvd").path,
                     folder: directory.appendingPathComponent(stem + folderSuffix).path)
    }

    static func isCollectionWrittenByUs(_ path: String) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        let head = (try? handle.read(upToCount: 512)) ?? Data()
        return String(decoding: head, as: UTF8.self).contains(marker)
    }

    /// The file names (inside the folder) an existing collection of ours lists; empty when the
    /// collection is absent or not ours.
    static func listedFiles(collection: String) -> Set<String> {
        guard case let .regular(size, _) = FileKind(collection, followingLinks: false), size < 64 << 20,
              isCollectionWrittenByUs(collection), let data = FileManager.default.contents(atPath: collection) else { return [] }
        let text = String(decoding: data, as: UTF8.self)
        var names: Set<String> = []
        for line in text.split(separator: "\n") {
            guard let start = line.range(of: " file=\""), let end = line[start.upperBound...].firstIndex(of: "\"") else { continue }
            let path = line[start.upperBound..<end]
            if let slash = path.lastIndex(of: "/") { names.insert(String(path[path.index(after: slash)...])) }
        }
        return names
    }

    // MARK: Images

    /// A VTK image: up to 3 axes, point arrays in VTK order (axis 0 fastest).
    struct Image {
        var origin: [Double]
        var spacing: [Double]
        var counts: [Int]
        var arrays: [(name: String, components: Int, values: [Double])] = []

        /// The VTK XML ImageData file, with the arrays appended raw (UInt64 block headers).
        func encoded() -> Data {
            let pad = { (values: [Double], filler: Double) in (values + [filler, filler, filler]).prefix(3).map { "\($0)" }.joined(separator: " ") }
            let extent = (0..<3).map { k in "0 \(k < counts.count ? counts[k] - 1 : 0)" }.joined(separator: " ")
            var header = """
                <?xml version="1.0"?>
                <VTKFile type="ImageData" version="1.0" byte_order="LittleEndian" header_type="UInt64">
                  <ImageData WholeExtent="\(extent)" Origin="\(pad(origin, 0))" Spacing="\(pad(spacing, 1))">
                    <Piece Extent="\(extent)">

                """
            let scalars = arrays.first { $0.components == 1 }?.name
            let vectors = arrays.first { $0.components == 3 }?.name
            header += "      <PointData" + (scalars.map { " Scalars=\"\($0)\"" } ?? "") + (vectors.map { " Vectors=\"\($0)\"" } ?? "") + ">\n"
            var offset = 0
            for array in arrays {
                header += "        <DataArray type=\"Float64\" Name=\"\(array.name)\" NumberOfComponents=\"\(array.components)\" format=\"appended\" offset=\"\(offset)\"/>\n"
                offset += 8 + 8 * array.values.count
            }
            header += """
                      </PointData>
                    </Piece>
                  </ImageData>
                  <AppendedData encoding="raw">
                _
                """
            var data = Data(header.utf8)  // ends with "_", which the raw data must follow directly
            for array in arrays {
                var length = UInt64(8 * array.values.count).littleEndian
                withUnsafeBytes(of: &length) { data.append(contentsOf: $0) }
                array.values.withUnsafeBytes { data.append(contentsOf: $0) }
            }
            data.append(contentsOf: Array("\n  </AppendedData>\n</VTKFile>\n".utf8))
            return data
        }
    }

    /// The images of one state, named by their part: the fields themselves on grids of 1–3 axes,
    /// the 2-d and 3-d marginals of density and current on grids of 4 or more axes (spectral
    /// problems reach 6: 15 + 20 marginals).
    static func images(grid: Grid, fields: [(name: String, values: [Double])]) -> [(part: String, image: Image)] {
        let d = grid.dimension
        let field = { (name: String) in fields.first { $0.name == name }?.values }
        let axisNames = grid.axes.map(\.name)
        let currents = axisNames.map { field("current_" + $0) }
        guard d >= 4 else {
            var image = Image(origin: grid.axes.map { $0.centres[0] }, spacing: grid.spacing, counts: grid.shape)
            for name in ["density", "potential", "modified_loss"] {
                if let values = field(name) { image.arrays.append((name, 1, vtkOrder(values, shape: grid.shape))) }
            }
            for name in ["current", "velocity"] {
                let parts = axisNames.map { field(name + "_" + $0) }
                guard parts.allSatisfy({ $0 != nil }) else { continue }
                image.arrays.append((name, 3, vectors(parts.map { $0! }, shape: grid.shape)))
            }
            return [(d == 1 ? "line" : d == 2 ? "image" : "volume", image)]
        }
        guard let density = field("density") else { return [] }
        let groups = combinations(of: Array(0..<d), size: 2) + combinations(of: Array(0..<d), size: 3)
        return groups.map { keep in
            let shape = keep.map { grid.shape[$0] }
            var image = Image(origin: keep.map { grid.axes[$0].centres[0] }, spacing: keep.map { grid.spacing[$0] }, counts: shape)
            image.arrays.append(("density", 1, vtkOrder(grid.marginal(of: density, keeping: keep), shape: shape)))
            if currents.allSatisfy({ $0 != nil }) {
                let components = keep.map { grid.marginal(of: currents[$0]!, keeping: keep) }
                image.arrays.append(("current", 3, vectors(components, shape: shape)))
            }
            // Axis names are identifiers, so '-' joins them unambiguously (with '_', axes "a_b", "c"
            // and "a", "b_c" would both give marginal_a_b_c).
            return ("marginal_" + keep.map { axisNames[$0] }.joined(separator: "-"), image)
        }
    }

    /// C order (last axis fastest) to VTK order (first axis fastest).
    static func vtkOrder(_ values: [Double], shape: [Int]) -> [Double] {
        guard shape.count > 1 else { return values }
        var result = [Double](repeating: 0, count: values.count)
        var index = [Int](repeating: 0, count: shape.count)
        for c in 0..<values.count {
            var rest = c
            for k in stride(from: shape.count - 1, through: 0, by: -1) { index[k] = rest % shape[k]; rest /= shape[k] }
            var v = 0
            for k in stride(from: shape.count - 1, through: 0, by: -1) { v = v * shape[k] + index[k] }
            result[v] = values[c]
        }
        return result
    }

    /// Components (C order each) interleaved as 3-vectors in VTK order, zero beyond the given ones.
    static func vectors(_ components: [[Double]], shape: [Int]) -> [Double] {
        let ordered = components.map { vtkOrder($0, shape: shape) }
        let count = shape.reduce(1, *)
        var result = [Double](repeating: 0, count: 3 * count)
        for (k, component) in ordered.prefix(3).enumerated() { for p in 0..<count { result[3 * p + k] = component[p] } }
        return result
    }

    static func combinations(of items: [Int], size: Int) -> [[Int]] {
        guard size > 0 else { return [[]] }
        guard items.count >= size else { return [] }
        let first = items[0], rest = Array(items.dropFirst())
        return combinations(of: rest, size: size - 1).map { [first] + $0 } + combinations(of: rest, size: size)
    }
}

/// Writes a sidecar beside an output: images go into a temporary folder as states come (one per
/// stationary solve, one per frame of an evolution); `install` writes the collection and renames
/// both into place for the output that was actually kept (the target, or a partial file).
final class SidecarWriter {
    let grid: Grid
    let temporaryFolder: String
    /// Marks the temporary folder alive for other runs' clean-up.
    private var claim: OutputTarget.Claim?
    private var entries: [(time: Double?, part: Int, name: String, file: String)] = []
    private var states = 0

    init(grid: Grid, target: String) throws {
        self.grid = grid
        temporaryFolder = OutputTarget.temporaryPath(for: ParaViewSidecar.paths(for: target).folder, tag: "vtk")
        try? FileManager.default.removeItem(atPath: temporaryFolder)
        guard mkdir(temporaryFolder, 0o755) == 0 else {
            throw FokkerPlanckError.io("cannot create the sidecar folder \(temporaryFolder.printable): \(String(cString: strerror(errno)))")
        }
        claim = OutputTarget.Claim(temporaryFolder)
    }

    /// Writes the images of one state (`time` nil for a stationary one).
    func add(fields: [(name: String, values: [Double])], time: Double?) throws {
        let prefix = time == nil ? "" : String(format: "frame_%06d_", states)
        for (part, (name, image)) in ParaViewSidecar.images(grid: grid, fields: fields).enumerated() {
            let file = prefix + name + ".vti"
            try OutputTarget.writeNewFile(image.encoded(), to: temporaryFolder + "/" + file)
            entries.append((time, part, name, file))
        }
        states += 1
    }

    /// Moves the sidecar into place beside `output` (NAME.pvd, NAME_vtk/), replacing an earlier
    /// sidecar of ours; on failure the earlier one is left as it was. Part of `commit`.
    private func install(for output: String) throws {
        let paths = ParaViewSidecar.paths(for: output)
        let folderName = URL(fileURLWithPath: paths.folder).lastPathComponent
        var xml = """
            <?xml version="1.0"?>
            \(ParaViewSidecar.marker) \(fpsolveVersion) for \(URL(fileURLWithPath: output).lastPathComponent.printable.replacingOccurrences(of: "--", with: "- -")): the fields of the .h5 beside it, for ParaView -->
            <VTKFile type="Collection" version="1.0" byte_order="LittleEndian">
              <Collection>

            """
        for entry in entries {
            let time = entry.time.map { " timestep=\"\($0)\"" } ?? ""
            xml += "    <DataSet\(time) part=\"\(entry.part)\" name=\"\(entry.name)\" file=\"\(xmlEscaped(folderName))/\(xmlEscaped(entry.file))\"/>\n"
        }
        xml += "  </Collection>\n</VTKFile>\n"
        let temporaryCollection = OutputTarget.temporaryPath(for: paths.collection, tag: "pvd")
        unlink(temporaryCollection)
        try OutputTarget.writeNewFile(Data(xml.utf8), to: temporaryCollection)
        let old = OutputTarget.temporaryPath(for: paths.folder, tag: "old")
        let hadFolder = FileKind(paths.folder, followingLinks: false).exists
        if hadFolder {
            guard rename(paths.folder, old) == 0 else {
                unlink(temporaryCollection)
                throw moveFailed(paths.folder)
            }
        }
        guard rename(temporaryFolder, paths.folder) == 0 else {
            let failure = moveFailed(paths.folder)
            if hadFolder { rename(old, paths.folder) }  // the earlier sidecar stays as it was
            unlink(temporaryCollection)
            throw failure
        }
        guard rename(temporaryCollection, paths.collection) == 0 else {
            let failure = moveFailed(paths.collection)
            // The new folder would not match the old collection: put the old folder back.
            rename(paths.folder, temporaryFolder)
            if hadFolder { rename(old, paths.folder) }
            unlink(temporaryCollection)
            throw failure
        }
        try? FileManager.default.removeItem(atPath: old)
    }

    /// Puts one run's files in place, holding the output directory's lock (so that concurrent runs
    /// commit one after the other): the finished, closed HDF5 temporary renamed to `destination()`
    /// — evaluated under the lock, so that a partial name is chosen free of races — then this
    /// sidecar installed beside it. The one commit of every writer (stationary, evolve, partial).
    ///
    /// - Returns: where the HDF5 file went, and the sidecar's failure if only the sidecar failed
    ///   (the `.h5` is in place and the earlier sidecar, if any, as it was).
    /// - Throws: when the HDF5 rename fails; then the temporary and this sidecar are removed.
    func commit(_ temporary: String, to destination: () -> String) throws -> (path: String, sidecarFailure: Error?) {
        let directory = URL(fileURLWithPath: temporary).deletingLastPathComponent().path
        return try OutputTarget.withDirectoryLock(directory) {
            let path = destination()
            guard rename(temporary, path) == 0 else {
                let failure = FokkerPlanckError.io("cannot move the finished output into place at \(path.printable): \(String(cString: strerror(errno)))")
                unlink(temporary)
                discard()
                throw failure
            }
            do {
                try install(for: path)
                return (path, nil)
            } catch {
                discard()
                return (path, error)
            }
        }
    }

    func discard() { try? FileManager.default.removeItem(atPath: temporaryFolder) }

    private func moveFailed(_ path: String) -> FokkerPlanckError {
        .io("cannot move the ParaView sidecar into place at \(path.printable): \(String(cString: strerror(errno)))")
    }

    private func xmlEscaped(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "\"", with: "&quot;")
            .replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}
