import Foundation

/// The version written into every output file.
public let fpsolveVersion = "0.1.0"

/// Writes an HDF5 file so that nothing is ever half-written or clobbered: the content goes to a
/// temporary file beside the target (same directory, so the rename is atomic; named as
/// `OutputTarget.temporaryPath` says) and is renamed into place only when every write and the close
/// succeeded; on any failure the temporary file is removed and the target is left as it was.
enum AtomicOutput {
    /// The sidecar, written beforehand, is committed with the file (`SidecarWriter.commit`).
    static func write(to target: String, sidecar: SidecarWriter, _ body: (HDF5File) throws -> Void) throws {
        let url = URL(fileURLWithPath: target)
        let directory = url.deletingLastPathComponent().path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            sidecar.discard()
            throw FokkerPlanckError.io("cannot write \(target): the directory \(directory) does not exist")
        }
        let temporary = OutputTarget.temporaryPath(for: target)
        do {
            let file = try HDF5File.create(temporary)
            let claim = OutputTarget.Claim(temporary)
            defer { claim.release() }
            do {
                try body(file)
            } catch {
                try? file.close()
                throw error
            }
            // A failed close (a full disk: the last metadata could not be written) leaves a corrupt
            // file: it is never renamed onto the target.
            try file.close()
            let committed = try sidecar.commit(temporary, to: { target })
            if let failure = committed.sidecarFailure {
                throw FokkerPlanckError.io("\(target.printable) is written, but its ParaView sidecar is not: \(failure)")
            }
        } catch {
            unlink(temporary)
            sidecar.discard()
            throw error
        }
    }
}
