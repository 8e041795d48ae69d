import FireWatchCore
import FireWatchStore
import Foundation

/// A synthetic event source for fault tests and benchmarks (`firewatch uplink burst`): journals
/// alternating residual-current raise/clear events for a set of devices until the journal holds
/// `total` events, through the same journal (and disk reserve) the pipeline uses, while the uplink runs.
///
/// Resumable: it counts what the journal already holds, so a burst killed with `kill -9` and started
/// again continues where the journal stopped — every event it reports was committed before it counted.
public struct UplinkBurst {
    public var devices: [String]
    public var total: Int64
    public var batch: Int
    /// Events per second at most (nil: as fast as the journal commits).
    public var rate: Double?

    public init(devices: [String], total: Int64, batch: Int = 50, rate: Double? = nil) {
        self.devices = devices.isEmpty ? ["BURST-001"] : devices
        self.total = total
        self.batch = max(batch, 1)
        self.rate = rate
    }

    /// The n-th event of the burst (1-based): device n mod count, raise on odd visits, clear on even.
    public func event(_ n: Int64, edge: String, time: Double) -> AlarmEvent {
        let device = devices[Int((n - 1) % Int64(devices.count))]
        let visit = (n - 1) / Int64(devices.count)
        let raise = visit % 2 == 0
        return AlarmEvent(edgeID: edge, sequence: 0, device: device, channel: "residual_current.1", rule: "burst.residual_current",
                          signal: .alarm, transition: raise ? .raise : .clear, value: raise ? 320 : 80, time: time,
                          hazard: HazardSpec(category: "electrical", kind: "residual_current_over", severity: .high,
                                             title: "剩余电流超限（测试突发）"))
    }

    /// `count` temperature readings, one every 10 s ending a minute before `now`, round-robin over
    /// `devices`: a telemetry-lane test source (their minutes are already closed).
    public static func pastReadings(devices: [String], count: Int, now: Double) -> [Reading] {
        let devices = devices.isEmpty ? ["BURST-001"] : devices
        let end = (now / 60).rounded(.down) * 60 - 60
        return (0..<count).map { i in
            Reading(device: devices[i % devices.count], channel: Channel(unchecked: "temperature.1"),
                    value: .number(30 + Double(i % 7)), time: end - Double(count - i) * 10)
        }
    }

    /// Journals until the journal holds `total` events or `shouldStop` says so; returns the last sequence.
    /// On a full disk it gives up the reserve, reports the fault, and keeps retrying the same batch.
    @discardableResult
    public func run(journal: EventJournal, reserve: OutboxReserve?, onStored: ([AlarmEvent]) -> Void,
                    onStorageFault: (any Error) -> Void, shouldStop: () -> Bool) throws -> Int64 {
        var last = try journal.lastSequence
        let started = Date()
        let startedAt = last
        while last < total, !shouldStop() {
            let n = Int(min(Int64(batch), total - last))
            let now = Date().timeIntervalSince1970
            let events = (1...n).map { event(last + Int64($0), edge: journal.edgeID, time: now) }
            do {
                let stored = try reserve?.append(events, to: journal, now: now) ?? journal.append(events, now: now)
                last = stored.last?.sequence ?? last
                onStored(stored)
            } catch let e as SQLiteError where e.isDiskFull {
                onStorageFault(e)
                Thread.sleep(forTimeInterval: 0.2)
                continue
            }
            if let rate, rate > 0 {
                let due = Double(last - startedAt) / rate - Date().timeIntervalSince(started)
                if due > 0 { Thread.sleep(forTimeInterval: due) }
            }
        }
        return last
    }
}
