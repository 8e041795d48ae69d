import FireWatchCore
import Foundation

/// Reserved disk space for the priority lane: a file of `bytes` zeros in the edge's data directory,
/// given up the moment a journal append hits a full disk, so alarms and faults can still be committed
/// while readings and telemetry are refused. Re-made once the disk has room again.
public final class OutboxReserve {
    public let path: String
    public let bytes: Int
    /// Appends that found the disk full (each releases the reserve if it is still there).
    public private(set) var diskFullCount = 0

    public init(directory: String, bytes: Int = 4 << 20) {
        path = (directory as NSString).appendingPathComponent("outbox.reserve")
        self.bytes = bytes
    }

    public var isHeld: Bool {
        ((try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0) >= bytes
    }

    /// Makes the reserve file when missing and the disk has room for it twice over; true when held.
    @discardableResult
    public func ensure() -> Bool {
        if isHeld { return true }
        let dir = (path as NSString).deletingLastPathComponent
        var st = statvfs()
        guard statvfs(dir, &st) == 0, UInt64(st.f_bavail) * UInt64(st.f_frsize) > UInt64(bytes) * 2 else { return false }
        let zeros = Data(count: bytes)
        return FileManager.default.createFile(atPath: path, contents: zeros) && isHeld
    }

    /// Frees the reserved space; true when there was something to free.
    @discardableResult
    public func release() -> Bool {
        guard FileManager.default.fileExists(atPath: path) else { return false }
        return (try? FileManager.default.removeItem(atPath: path)) != nil
    }

    /// Appends to the journal; when the disk is full, gives up the reserve and tries once more.
    /// Throws the disk-full error when even the reserve did not make room.
    public func append(_ events: [AlarmEvent], to journal: EventJournal, now: Double) throws -> [AlarmEvent] {
        do {
            return try journal.append(events, now: now)
        } catch let e as SQLiteError where e.isDiskFull {
            diskFullCount += 1
            guard release() else { throw e }
            return try journal.append(events, now: now)
        }
    }
}
