import Foundation

/// What a path names, from `stat` (links followed) or `lstat` (a link is itself): the one place
/// that decides "regular file?", "directory?", "there at all?" for the checks that keep fpsolve
/// from blocking on a FIFO, reading a device or replacing what it must not.
enum FileKind: Equatable {
    /// Nothing there (or not reachable): the `errno` of the failed call.
    case missing(errno: Int32)
    case regular(size: Int, links: Int)
    case directory(links: Int)
    case symbolicLink
    /// A device, FIFO or socket.
    case special

    init(_ path: String, followingLinks: Bool = true) {
        var status = stat()
        guard (followingLinks ? stat(path, &status) : lstat(path, &status)) == 0 else {
            self = .missing(errno: errno)
            return
        }
        switch status.st_mode & S_IFMT {
        case S_IFREG: self = .regular(size: Int(status.st_size), links: Int(status.st_nlink))
        case S_IFDIR: self = .directory(links: Int(status.st_nlink))
        case S_IFLNK: self = .symbolicLink
        default: self = .special
        }
    }

    var exists: Bool { if case .missing = self { return false } else { return true } }
    var isRegular: Bool { if case .regular = self { return true } else { return false } }
    var isDirectory: Bool { if case .directory = self { return true } else { return false } }
}
