import FireWatchCore
import Foundation
import Synchronization

/// Counts ingestion problems per device (timeouts, exceptions, rejected payloads) for logs and
/// `firewatch status`. Logs the first problem of a run and every recovery, not every repeat.
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
    private let log: @Sendable (String) -> Void

    public init(log: @escaping @Sendable (String) -> Void) { self.log = log }

    public func problem(device: String, _ problem: IngestProblem) {
        let first = counters.withLock { all -> Bool in
            var c = all[device] ?? DeviceCounters()
            let wasFailing = c.failing
            switch problem {
            case .timeout: c.timeouts += 1; c.failing = true; c.lastProblem = "timeout"
            case .exception(let code, let register):
                c.exceptions += 1; c.lastProblem = "exception \(code) at register \(register)"
            case .transport(let m): c.transportErrors += 1; c.failing = true; c.lastProblem = m
            case .rejectedPayload(let m): c.rejected += 1; c.lastProblem = m
            case .rateLimited: c.rateLimited += 1; c.lastProblem = "rate limited"
            }
            all[device] = c
            return !wasFailing && c.failing
        }
        if first { log("device \(device): \(describe(problem)); backing off, will keep trying") }
    }

    public func recovered(device: String) {
        let was = counters.withLock { all -> Bool in
            guard var c = all[device], c.failing else { return false }
            c.failing = false
            all[device] = c
            return true
        }
        if was { log("device \(device): answering again") }
    }

    public var snapshot: [String: DeviceCounters] { counters.withLock { $0 } }

    private func describe(_ p: IngestProblem) -> String {
        switch p {
        case .timeout: "no answer (timeout)"
        case .exception(let code, let register): "Modbus exception \(code) at register \(register)"
        case .transport(let m): m
        case .rejectedPayload(let m): "payload rejected: \(m)"
        case .rateLimited: "rate limited"
        }
    }
}
