import FireWatchCore
import Foundation
import Synchronization

/// Counts ingestion problems per device (timeouts, exceptions, rejected payloads) across adapters.
/// It does not log: each adapter logs its own first failure and recovery with the detail it has.
public final class EdgeMonitor: IngestMonitor {
    public struct DeviceCounters: Sendable, Codable, Equatable {
        public var timeouts = 0
        public var exceptions = 0
        public var transportErrors = 0
        public var rejected = 0
        public var rateLimited = 0
        public var failing = false
        public var lastProblem: String?
    }

    private let counters = Mutex<[String: DeviceCounters]>([:])
    public init() {}

    public func problem(device: String, _ problem: IngestProblem) {
        counters.withLock { all in
            var c = all[device] ?? DeviceCounters()
            switch problem {
            case .timeout: c.timeouts += 1; c.failing = true; c.lastProblem = "timeout"
            case .exception(let code, let register):
                c.exceptions += 1; c.lastProblem = "exception \(code) at register \(register)"
            case .transport(let m): c.transportErrors += 1; c.failing = true; c.lastProblem = m
            case .rejectedPayload(let m): c.rejected += 1; c.lastProblem = m
            case .rateLimited: c.rateLimited += 1; c.lastProblem = "rate limited"
            }
            all[device] = c
        }
    }

    public func recovered(device: String) {
        counters.withLock { all in
            guard var c = all[device], c.failing else { return }
            c.failing = false
            all[device] = c
        }
    }

    public var snapshot: [String: DeviceCounters] { counters.withLock { $0 } }
}
