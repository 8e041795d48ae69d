/// Where on the edge a write can fail for want of disk.
public enum StorageArea: String, Sendable, CaseIterable {
    /// The event journal and engine state (`edge.db`), written by the pipeline.
    case journal
    /// The readings archive (`readings.db`), written by the archive writer.
    case archive
    /// The uplink's outbox bookkeeping in `edge.db`.
    case outbox
}

/// What the heartbeat says about the edge's storage. A failed write marks its area failing until a
/// write there succeeds again, so the fault holds through intervals in which nothing tried to write
/// (an idle archive on a full disk), and the office's `edge_storage` hazard does not clear and reopen
/// with every heartbeat. A fault that came and went between two heartbeats is still reported once.
public struct StorageFaultFlag: Sendable, Equatable {
    private var failing: Set<StorageArea> = []
    private var sinceLastHeartbeat = false

    public init() {}

    public mutating func failed(_ area: StorageArea) {
        failing.insert(area)
        sinceLastHeartbeat = true
    }

    public mutating func wrote(_ area: StorageArea) {
        failing.remove(area)
    }

    public var failingAreas: Set<StorageArea> { failing }

    /// The heartbeat's `storageFault`: any area failing now, or a fault since the previous heartbeat.
    public mutating func takeForHeartbeat() -> Bool {
        defer { sinceLastHeartbeat = false }
        return sinceLastHeartbeat || !failing.isEmpty
    }
}
