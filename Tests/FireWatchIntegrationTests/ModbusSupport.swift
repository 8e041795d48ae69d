import Foundation
import Synchronization
import Testing
import FireWatchCore
import FireWatchModbus

/// Collects everything a poller hands over, for assertions.
final class CollectingSink: ReadingSink, IngestMonitor {
    private let readings = Mutex<[Reading]>([])
    private let problems = Mutex<[(String, IngestProblem)]>([])
    private let recoveries = Mutex<[String]>([])

    func accept(_ batch: [Reading]) { readings.withLock { $0 += batch } }
    func problem(device: String, _ problem: IngestProblem) { problems.withLock { $0.append((device, problem)) } }
    func recovered(device: String) { recoveries.withLock { $0.append(device) } }

    var all: [Reading] { readings.withLock { $0 } }
    var allProblems: [(String, IngestProblem)] { problems.withLock { $0 } }
    var allRecoveries: [String] { recoveries.withLock { $0 } }

    func latest(_ device: String, _ channel: String) -> Reading.Value? {
        readings.withLock { $0.last { $0.device == device && $0.channel.name == channel }?.value }
    }

    func values(_ device: String, _ channel: String) -> [Reading.Value] {
        readings.withLock { $0.filter { $0.device == device && $0.channel.name == channel }.map(\.value) }
    }

    /// Times (wall) of `device.online` = 1 readings of a device.
    func onlineTimes(_ device: String) -> [Double] {
        readings.withLock { $0.filter { $0.device == device && $0.channel.name == "device.online" && $0.value == .number(1) }.map(\.time) }
    }

    func clear() { readings.withLock { $0 = [] } }
}

enum ModbusFixtures {
    static func profile(_ id: String) throws -> ModbusProfile {
        try ModbusProfile.load(file: TestSupport.devicesDir + "/\(id).json5")
    }
}
