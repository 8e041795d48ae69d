/// Where ingestion adapters (Modbus bus owners, the MQTT callback thread) hand decoded readings.
///
/// The edge implements it with one bounded queue feeding the single rule-engine consumer. `accept`
/// never blocks for long: when the queue is full the sink counts and reports the overflow.
public protocol ReadingSink: Sendable {
    /// Hands over readings taken together (one poll of one device, one MQTT message), in order.
    func accept(_ readings: [Reading])
    /// Hands over several such groups at once, in order (a batch of MQTT messages); a sink can take
    /// them under one lock.
    func accept(batches: [[Reading]])
}

extension ReadingSink {
    public func accept(batches: [[Reading]]) {
        for readings in batches { accept(readings) }
    }
}

/// Why a device produced no readings this time; counted per device and shown by `firewatch status`.
public enum IngestProblem: Sendable, Equatable {
    case timeout
    case exception(code: Int, register: Int)
    case transport(String)
    case rejectedPayload(String)
    case rateLimited
}

/// Where adapters report problems (and recoveries) for counters, logs and comm-loss supervision.
public protocol IngestMonitor: Sendable {
    func problem(device: String, _ problem: IngestProblem)
    func recovered(device: String)
}
