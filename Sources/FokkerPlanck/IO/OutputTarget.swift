import Foundation

/// Where a result goes, checked before any work so that no run — refused, failed, interrupted or
/// killed — ever loses or clobbers a byte (SPEC §3, "Bad input"):
///
/// * the target must be absent or a regular file that is not the problem file, not read-only, and
///   either an earlier fpsolve output or replaced on purpose (`--force`); directories, devices,
///   FIFOs, sockets and symbolic links are refused, and so are names longer than 255 bytes;
/// * its directory must exist and be writable, and have room for the estimated output;
/// * the ParaView sidecar beside it (`NAME.pvd` and the folder `NAME_vtk/`) obeys the same rules;
/// * temporary files are written beside the target as `.NAME.fpsolve-tmp-PID` and renamed into
///   place only when complete; those of runs whose process is gone (SIGKILL, power loss) are
///   removed by the next run in the same directory.
public struct OutputTarget: Sendable {
    /// The HDF5 file.
    public let path: String
    /// Where the command-line user named it (`-o`, or `output.file` of the problem): for messages.
    public let keyPath: String

    public var directory: String { URL(fileURLWithPath: path).deletingLastPathComponent().path }
    public var sidecar: ParaViewSidecar.Paths { ParaViewSidecar.paths(for: path) }

    /// Checks `path` as the output of a run that writes about `estimatedBytes`; throws bad input.
    ///
    /// - Parameters:
    ///   - inputs: the files the run reads (the problem file, an initial-condition file), which the
    ///     target must never be: the problem file always, the others unless `force`;
    ///   - force: replace an existing regular file that is not an fpsolve output (or an input).
    public init(checking path: String, keyPath: String, inputs: [String], force: Bool, estimatedBytes: Double) throws {
        self.path = path
        self.keyPath = keyPath
        func refuse(_ message: String) -> FokkerPlanckError {
            .badInput(file: nil, keyPath: keyPath, line: nil, message: message)
        }
        guard !path.isEmpty else { throw refuse("the output file name is empty") }
        guard !path.hasSuffix("/") else { throw refuse("'\(path.printable)' names a directory, not a file") }
        // Control characters in a name end up in the sidecar's XML and in terminals.
        guard !path.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw refuse("the output name '\(path.printable)' contains control characters; choose a plain name")
        }
        let sidecar = ParaViewSidecar.paths(for: path)
        // Every name written beside the target must fit the file system's 255 bytes (temporary
        // names are cut to fit; partial names too).
        for name in [path, sidecar.collection, sidecar.folder].map({ URL(fileURLWithPath: $0).lastPathComponent }) where name.utf8.count > 255 {
            throw refuse("the name \(name.printable) would be \(name.utf8.count) bytes long, more than the 255 a file name may have; choose a shorter output name")
        }
        let directory = self.directory
        // A deleted working directory still stats as a directory, with no links.
        guard case let .directory(links) = FileKind(directory), links > 0 else {
            throw refuse("the output directory \(directory.printable) does not exist")
        }
        guard access(directory, W_OK | X_OK) == 0 else {
            throw refuse("the output directory \(directory.printable) is not writable")
        }
        // A problem file (someone else's, perhaps) does not write outside the working directory
        // unless the user says so.
        if keyPath == "output.file" && !force && (path.hasPrefix("/") || path.split(separator: "/").contains("..")) {
            throw refuse("'\(path.printable)' leads outside the working directory; give it with -o, or pass --force")
        }
        let protected = inputs.compactMap(Self.identity)
        try Self.checkReplaceable(path, kind: .hdf5, inputs: protected, force: force, refuse: refuse)
        try Self.checkReplaceable(sidecar.collection, kind: .collection, inputs: protected, force: force, refuse: refuse)
        try Self.checkSidecarFolder(sidecar, refuse: refuse)
        Self.removeStaleTemporaries(in: directory)
        var space = statvfs()
        if statvfs(directory, &space) == 0 {
            let available = Double(space.f_bavail) * Double(space.f_frsize)
            if estimatedBytes > available {
                throw refuse(String(format: "the output needs about %@ but %@ has only %@ free; use fewer cells, modes or frames, or another directory",
                                    Self.bytesDescription(estimatedBytes), directory.printable, Self.bytesDescription(available)))
            }
        }
    }

    // MARK: What may be replaced

    enum Kind { case hdf5, collection }

    /// (device, inode) of an existing file.
    static func identity(_ path: String) -> (UInt64, UInt64)? {
        var status = stat()
        guard stat(path, &status) == 0 else { return nil }
        return (UInt64(status.st_dev), UInt64(status.st_ino))
    }

    static func checkReplaceable(_ path: String, kind: Kind, inputs: [(UInt64, UInt64)], force: Bool,
                                 refuse: (String) -> FokkerPlanckError) throws {
        let shown = path.printable
        switch FileKind(path, followingLinks: false) {
        case .missing: return  // absent: nothing to lose
        case .regular: break
        case .directory: throw refuse("\(shown) is a directory")
        case .symbolicLink: throw refuse("\(shown) is a symbolic link; name the file itself")
        case .special: throw refuse("\(shown) is not a regular file (a device, FIFO or socket); fpsolve writes only regular files")
        }
        var status = stat()
        guard lstat(path, &status) == 0 else { return }
        if let index = inputs.firstIndex(where: { $0 == (UInt64(status.st_dev), UInt64(status.st_ino)) }) {
            if index == 0 { throw refuse("\(shown) is the problem file itself; choose another output name") }
            if !force { throw refuse("\(shown) is an input of this run (its initial condition); choose another output name, or pass --force") }
        }
        guard status.st_mode & 0o222 != 0 else {
            throw refuse("\(shown) exists and is read-only; make it writable or choose another output name")
        }
        guard !force else { return }
        let ours: Bool
        switch kind {
        case .hdf5: ours = HDF5File.isHDF5(path) && (try? OutputSummary(contentsOf: path))?.attribute("fpsolve_version") != nil
        case .collection: ours = ParaViewSidecar.isCollectionWrittenByUs(path)
        }
        guard ours else {
            throw refuse("\(shown) exists and is not an fpsolve output; pass --force to replace it, or choose another name")
        }
    }

    /// The sidecar folder may be replaced only when it is provably ours: regular files, each listed
    /// by our collection beside it. Anything else in it (or a file, link or device of that name)
    /// is somebody's and is never removed, `--force` or not.
    static func checkSidecarFolder(_ sidecar: ParaViewSidecar.Paths, refuse: (String) -> FokkerPlanckError) throws {
        let kind = FileKind(sidecar.folder, followingLinks: false)
        guard kind.exists else { return }
        let shown = sidecar.folder.printable
        guard kind.isDirectory else {
            throw refuse("\(shown) (where the ParaView sidecar goes) exists and is not a directory; move it away")
        }
        let listed = ParaViewSidecar.listedFiles(collection: sidecar.collection)
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: sidecar.folder)) ?? ["?"]
        let ours = entries.allSatisfy { entry in
            listed.contains(entry) && FileKind(sidecar.folder + "/" + entry, followingLinks: false).isRegular
        }
        guard ours else {
            throw refuse("\(shown) (where the ParaView sidecar goes) holds files that \(URL(fileURLWithPath: sidecar.collection).lastPathComponent.printable) does not list as fpsolve's; move it away")
        }
    }

    // MARK: Temporary files

    static let temporaryMarker = ".fpsolve-tmp-"

    /// `.NAME[.TAG].fpsolve-tmp-PID` beside `path` (NAME cut to 200 bytes so that the temporary
    /// name of a legal 255-byte name is legal too; the tag keeps the temporaries of one run apart
    /// when the cut makes their names alike).
    public static func temporaryPath(for path: String, tag: String = "") -> String {
        let url = URL(fileURLWithPath: path)
        var name = ""
        for character in url.lastPathComponent {
            guard name.utf8.count + String(character).utf8.count <= 200 else { break }
            name.append(character)
        }
        return url.deletingLastPathComponent()
            .appendingPathComponent(".\(name)\(tag.isEmpty ? "" : "." + tag)\(temporaryMarker)\(ProcessInfo.processInfo.processIdentifier)").path
    }

    /// Holds an exclusive `flock` on a temporary file or folder for as long as the run writes it
    /// (until `release`, or the process ends): the proof, also across hosts sharing the directory
    /// and across PID namespaces, that the temporary is alive.
    final class Claim: @unchecked Sendable {
        private var descriptor: Int32
        init(_ path: String) {
            descriptor = open(path, O_RDONLY | O_CLOEXEC)
            if descriptor >= 0 { _ = flock(descriptor, LOCK_EX | LOCK_NB) }
        }
        func release() {
            if descriptor >= 0 { close(descriptor) }
            descriptor = -1
        }
        deinit { release() }
    }

    /// Removes the temporary files and folders of fpsolve runs that are gone: named
    /// `.NAME….fpsolve-tmp-PID` (or `.NAME.tmp-PID`, the names of earlier versions), whose process
    /// does not exist here and whose lock (`Claim`) nobody holds.
    public static func removeStaleTemporaries(in directory: String) {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
        let own = ProcessInfo.processInfo.processIdentifier
        for entry in entries where entry.hasPrefix(".") {
            guard entry.contains(temporaryMarker) || entry.contains(".h5.tmp-"),
                  let marker = entry.range(of: "tmp-", options: .backwards),
                  let pid = Int32(entry[marker.upperBound...]), pid > 0, pid != own,
                  kill(pid, 0) == -1 && errno == ESRCH else { continue }
            let path = directory + "/" + entry
            let descriptor = open(path, O_RDONLY | O_CLOEXEC)
            guard descriptor >= 0 else { continue }
            defer { close(descriptor) }
            guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else { continue }  // alive elsewhere
            try? FileManager.default.removeItem(atPath: path)
        }
    }

    // MARK: Committing

    /// Runs `body` — the renames that put one run's files in place — holding an exclusive lock on
    /// the output directory, so that two runs writing the same target commit one after the other
    /// and never leave an `.h5` from one beside the sidecar of the other.
    static func withDirectoryLock<T>(_ directory: String, _ body: () throws -> T) rethrows -> T {
        let descriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        defer { if descriptor >= 0 { close(descriptor) } }
        if descriptor >= 0 { _ = flock(descriptor, LOCK_EX) }  // released by close
        return try body()
    }

    /// Writes a new file with POSIX calls, so that a failure (a full disk: EFBIG, ENOSPC) is
    /// reported as what it is; a partly written file is removed.
    static func writeNewFile(_ data: Data, to path: String) throws {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw FokkerPlanckError.io("cannot create \(path.printable): \(String(cString: strerror(errno)))") }
        var failure: Int32 = 0
        data.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 { if errno == EINTR { continue }; failure = errno; return }
                offset += written
            }
        }
        if close(descriptor) != 0 && failure == 0 { failure = errno }
        guard failure == 0 else {
            unlink(path)
            throw FokkerPlanckError.io("writing \(path.printable) failed: \(String(cString: strerror(failure)))")
        }
    }

    // MARK: Partial results

    /// Where an interrupted evolve keeps its frames: `NAME.partial.h5`, or `NAME.partial-1.h5`,
    /// `-2`, … when an earlier partial result (or its sidecar) is there: those are never replaced.
    public static func partialPath(for target: String) -> String {
        let url = URL(fileURLWithPath: target)
        // Cut so that NAME.partial-NNNNNN_vtk fits in 255 bytes.
        var stem = ""
        for character in url.deletingPathExtension().lastPathComponent {
            guard stem.utf8.count + String(character).utf8.count <= 230 else { break }
            stem.append(character)
        }
        let folder = url.deletingLastPathComponent()
        for index in 0... {
            let name = stem + (index == 0 ? ".partial" : ".partial-\(index)") + ".h5"
            let candidate = folder.appendingPathComponent(name).path
            let sidecar = ParaViewSidecar.paths(for: candidate)
            if ![candidate, sidecar.collection, sidecar.folder].contains(where: { FileKind($0, followingLinks: false).exists }) {
                return candidate
            }
        }
        fatalError("unreachable")
    }

    static func bytesDescription(_ bytes: Double) -> String {
        if bytes >= 1_073_741_824 { return String(format: "%.1f GiB", bytes / 1_073_741_824) }
        return String(format: "%.1f MiB", bytes / 1_048_576)
    }
}

extension String {
    /// The text made safe to print: control characters (terminal escapes) and bidirectional
    /// overrides are shown as `\u{…}` instead of being sent to the terminal; newlines and tabs stay.
    public var printable: String {
        var result = ""
        for scalar in unicodeScalars {
            let control = scalar.properties.generalCategory == .control && scalar != "\n" && scalar != "\t"
            let bidi = (0x202A...0x202E).contains(scalar.value) || (0x2066...0x2069).contains(scalar.value)
            if control || bidi {
                result += "\\u{\(String(scalar.value, radix: 16))}"
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
        return result
    }
}
