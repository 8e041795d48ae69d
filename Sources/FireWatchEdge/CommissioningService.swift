import FireWatchCore
import FireWatchModbus
import FireWatchMQTT
import FireWatchStore
import Foundation
import Synchronization

/// Reads every channel of a device live, once (`device commission`).
public protocol CommissionChannelReader {
    func read(_ device: Device) -> Result<ProbeResult, CommissionReadFailure>
}

public struct CommissionReadFailure: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// The live reader: Modbus TCP/RTU through `ModbusProbe`, MQTT through `MQTTProbe` (next message on the profile's topic).
public struct LiveCommissionReader: CommissionChannelReader {
    public var modbusProfiles: [String: ModbusProfile]
    public var mqttProfiles: [String: MQTTProfile]
    /// RTU buses by name (from the edge config).
    public var buses: [String: SerialBusConfig]
    /// Broker MQTT detectors report to, e.g. mqtt://127.0.0.1:1883.
    public var mqttBroker: String?
    /// Seconds to wait for an MQTT detector's next message.
    public var mqttTimeout: Double
    public var responseTimeout: Double?

    public init(devicesDir: String, buses: [String: SerialBusConfig] = [:], mqttBroker: String? = nil, mqttTimeout: Double = 60,
                responseTimeout: Double? = nil) throws(ConfigErrors) {
        modbusProfiles = try ModbusProfile.loadAll(directory: devicesDir)
        mqttProfiles = Dictionary(try MQTTProfile.load(directory: devicesDir).map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        self.buses = buses
        self.mqttBroker = mqttBroker
        self.mqttTimeout = mqttTimeout
        self.responseTimeout = responseTimeout
    }

    public func read(_ device: Device) -> Result<ProbeResult, CommissionReadFailure> {
        switch device.transport {
        case .modbusTCP(let host, let port, let unit):
            return modbus(device, .tcp(host: host, port: port), unit: unit)
        case .modbusRTU(let bus, let unit):
            guard let config = buses[bus] else {
                return .failure(CommissionReadFailure("bus '\(bus)' is not configured; pass --config EDGE.json5 that defines it under buses"))
            }
            return modbus(device, .rtu(config), unit: unit)
        case .mqtt(let id):
            guard let profile = mqttProfiles[device.profileID] else {
                return .failure(CommissionReadFailure("no MQTT profile '\(device.profileID)' in the profiles folder"))
            }
            guard let broker = mqttBroker else {
                return .failure(CommissionReadFailure("MQTT device: pass --broker mqtt://HOST:PORT (the broker the detector reports to)"))
            }
            return mqtt(profile, deviceID: id, broker: broker)
        }
    }

    /// Waits for the next live (not retained) message that this device sent and decodes it; messages of
    /// other devices on the same topic filter are skipped (the `4g/+/data` profiles carry the id in the payload).
    private func mqtt(_ profile: MQTTProfile, deviceID: String, broker: String) -> Result<ProbeResult, CommissionReadFailure> {
        guard let endpoint = MQTTOptions.endpoint(url: broker) else {
            return .failure(CommissionReadFailure("'\(broker)' is not an MQTT URL; expected mqtt://HOST:PORT"))
        }
        let options = MQTTOptions(host: endpoint.host, port: endpoint.port,
                                  clientID: "firewatch-commission-\(getpid())-\(UInt32.random(in: 0...UInt32.max))",
                                  keepaliveSeconds: 10,
                                  tls: endpoint.tls ? MQTTOptions.TLS(caFile: "/etc/ssl/certs/ca-certificates.crt") : nil,
                                  reconnectMinSeconds: 0.5, reconnectMaxSeconds: 2, cleanSession: true)
        let client: MQTTClient
        do { client = try MQTTClient(options: options, log: { _ in }) } catch {
            return .failure(CommissionReadFailure("cannot set up the MQTT client: \(error)"))
        }
        let found = Mutex<Result<ProbeResult, CommissionReadFailure>?>(nil)
        let arrived = DispatchSemaphore(value: 0)
        client.onMessage = { m in
            guard !m.retain, case .success(let d) = profile.decode(topic: m.topic, payload: m.payload, now: Date().timeIntervalSince1970),
                  d.deviceID == deviceID else { return }
            let first = found.withLock { slot -> Bool in
                guard slot == nil else { return false }
                slot = .success(ProbeResult(profile: profile.id, unit: nil, channels: ProbeResult.channels(from: d.readings),
                                            setpoints: nil, time: MQTTProbe.iso8601(d.time)))
                return true
            }
            if first { arrived.signal() }
        }
        client.subscribe(profile.topic.filter, qos: 1)
        client.start()
        defer { client.stop() }
        guard arrived.wait(timeout: .now() + mqttTimeout) == .success, let result = found.withLock({ $0 }) else {
            return .failure(CommissionReadFailure(client.connectCount == 0
                ? "could not connect to the broker at \(broker) within \(Int(mqttTimeout)) s; check the address and that the broker runs"
                : "no message from \(deviceID) on '\(profile.topic.filter)' within \(Int(mqttTimeout)) s; "
                  + "check that the detector is powered, online and reports under this id"))
        }
        return result
    }

    private func modbus(_ device: Device, _ target: ModbusTarget, unit: Int) -> Result<ProbeResult, CommissionReadFailure> {
        let profile: ModbusProfile
        do { profile = try ModbusProfile.resolve(device.profileID, in: modbusProfiles) } catch {
            return .failure(CommissionReadFailure("\(error)"))
        }
        do { return .success(try ModbusProbe.probe(profile: profile, target: target, unit: unit, responseTimeout: responseTimeout)) }
        catch { return .failure(CommissionReadFailure(error.description)) }
    }
}

/// Where the test alarm goes.
public enum TestAlarmRoute: Sendable {
    /// Standalone (no office): stored straight into the governance database and read back.
    case governance
    /// Through the running edge: appended to `DATA/edge.db`; the uplink delivers it and the office's
    /// acknowledgement marks it delivered. Waits up to `timeout` seconds for that.
    case edgeJournal(dataDir: String, timeout: Double)
}

/// The result of a commissioning run.
public struct CommissionOutcome: Sendable {
    public var report: CommissionReport
    public var device: Device
    public var jsonFile: String?
    public var htmlFile: String?
}

/// `device commission` as a library call: live read, plausibility checks, self-test where the profile
/// has one, a test alarm along the whole path (never a hazard), the report, and the device's status.
public struct CommissioningService {
    public let store: SQLiteGovernanceStore
    public let profiles: [String: ProfileCapabilities]
    /// The rule set the edge runs: which channels commissioning must read, and whether the device can alarm at all.
    public let rules: RuleSet
    public let reader: any CommissionChannelReader
    public let route: TestAlarmRoute

    public init(store: SQLiteGovernanceStore, profiles: [String: ProfileCapabilities], rules: RuleSet,
                reader: any CommissionChannelReader, route: TestAlarmRoute) {
        self.store = store
        self.profiles = profiles
        self.rules = rules
        self.reader = reader
        self.route = route
    }

    /// Runs every check; a failed check leaves the device `registered`, all passed makes it `commissioned`.
    /// Writes `<id>-<time>.json` and `.html` into `reportDir` when given.
    public func commission(deviceID: String, actor: String, reportDir: String?, now: Double,
                           localTime: (Double) -> String) throws -> Result<CommissionOutcome, RegistrationProblem> {
        guard var device = try store.device(id: deviceID) else {
            return .failure(RegistrationProblem("device_unknown", "no device with id \(deviceID); see `firewatch device list`"))
        }
        guard device.status != .decommissioned else {
            return .failure(RegistrationProblem("decommissioned", "device \(deviceID) is decommissioned; register it again first"))
        }
        guard let premises = try store.premises(id: device.premisesID) else {
            return .failure(RegistrationProblem("premises_unknown", "premises \(device.premisesID) of device \(deviceID) is not in the registry"))
        }
        let profile: ProfileCapabilities
        switch ProfileCatalog.resolve(device.profileID, in: profiles) {
        case .success(let p): profile = p
        case .failure(let problem): return .failure(problem)
        }
        let coverage = RuleCoverage(rules: rules, profile: profile)
        var checks: [CommissionReport.Check] = [CommissionChecks.rules(coverage)]
        var values: [CommissionReport.Value] = []
        var deviceSetpoints: [String: Double]?
        switch reader.read(device) {
        case .failure(let f):
            checks.append(.init(id: "read", title: "读取全部通道", passed: false, detail: f.message,
                                fix: "设备无应答：检查接线（A/B 是否接反）、通信地址、波特率和校验位，确认探测器已上电"))
        case .success(let probe):
            checks.append(.init(id: "read", title: "读取全部通道", passed: true, detail: "\(probe.channels.count) 个通道"))
            values = probe.channels.sorted { $0.key < $1.key }.map {
                CommissionReport.Value(channel: $0.key, value: $0.value.value, unit: $0.value.unit, state: $0.value.state)
            }
            deviceSetpoints = probe.setpoints
            checks += CommissionChecks.evaluate(probe, device: device, coverage: coverage)
        }
        checks.append(.init(id: "selftest", title: "探测器自检", passed: nil,
                            detail: profile.hasSelfTest ? "该型号的自检需在现场按自检键（固件未提供远程自检命令）"
                                                        : "该型号无自检功能（profile 未提供 device.selftest）"))
        // The test alarm goes only when the device itself is fine: a failing device is not commissioned anyway.
        var testAlarm: CommissionReport.TestAlarm?
        if !checks.contains(where: { $0.passed == false }) {
            let (t, check) = try sendTestAlarm(device: device, now: now)
            testAlarm = t
            checks.append(check)
        } else {
            checks.append(.init(id: "test_alarm", title: "测试报警送达消防办公室", passed: nil, detail: "未发送：先排除上面的不合格项"))
        }
        let report = CommissionReport(by: actor, time: now, device: device, premises: premises, values: values,
                                      deviceSetpoints: deviceSetpoints, checks: checks, testAlarm: testAlarm)
        let json = report.json()
        if report.passed {
            device.status = .commissioned
            device.commissionedAt = now
            device.commissionedBy = actor
            device.commissionReport = json
            try store.saveDevice(device, action: "commissioned", actor: actor, detail: "调试合格，\(checks.count) 项检查", now: now)
        } else {
            let failed = report.failures.map(\.title).joined(separator: "；")
            try store.appendDeviceHistory(id: device.id, DeviceHistoryEntry(time: now, action: "commission_failed", actor: actor,
                                                                             detail: "不合格：\(failed)"))
        }
        var jsonFile: String?, htmlFile: String?
        if let reportDir {
            try FileManager.default.createDirectory(atPath: reportDir, withIntermediateDirectories: true)
            let stamp = Int(now)
            let base = (reportDir as NSString).appendingPathComponent("commission-\(Self.fileSafe(device.id))-\(stamp)")
            jsonFile = base + ".json"
            htmlFile = base + ".html"
            try json.write(toFile: jsonFile!, atomically: true, encoding: .utf8)
            try CommissionReportHTML.render(report, localTime: localTime(now)).write(toFile: htmlFile!, atomically: true, encoding: .utf8)
        }
        return .success(CommissionOutcome(report: report, device: device, jsonFile: jsonFile, htmlFile: htmlFile))
    }

    /// The commissioning test alarm: marked `isTest`, so the office stores it and never opens a hazard.
    public static func testEvent(device: Device, now: Double) -> AlarmEvent {
        AlarmEvent(edgeID: "", sequence: 0, device: device.id, channel: "device.selftest", rule: "commissioning-test",
                   signal: .alarm, transition: .raise, value: nil, time: now,
                   hazard: HazardSpec(category: "equipment", kind: "commissioning_test", severity: .low,
                                      title: "调试测试报警（非真实报警）"),
                   announced: true, chattering: false, isTest: true)
    }

    /// Edge id used for test alarms stored straight into a governance database (standalone mode).
    public static let standaloneEdgeID = "commissioning"

    private func sendTestAlarm(device: Device, now: Double) throws -> (CommissionReport.TestAlarm, CommissionReport.Check) {
        var event = Self.testEvent(device: device, now: now)
        switch route {
        case .governance:
            event.edgeID = Self.standaloneEdgeID
            event.sequence = (try store.db.scalar("SELECT IFNULL(MAX(sequence), 0) FROM alarm_events WHERE edge_id = ?",
                                                  [.text(Self.standaloneEdgeID)])?.integer ?? 0) + 1
            _ = try store.ingest(event, receivedAt: now, late: false)
            let row = try store.db.query("SELECT is_test, hazard_id FROM alarm_events WHERE edge_id = ? AND sequence = ?",
                                         [.text(event.edgeID), .integer(event.sequence)]) { ($0.int(0), $0[1]) }.first
            let ok = row?.0 == 1 && row?.1 == .null
            let t = CommissionReport.TestAlarm(route: "governance", edge: event.edgeID, sequence: event.sequence, confirmed: ok,
                                               detail: ok ? "已存入治理数据库（is_test=1，未生成隐患）" : "未能确认存储")
            return (t, .init(id: "test_alarm", title: "测试报警送达消防办公室（本地治理数据库）", passed: ok, detail: t.detail,
                             fix: ok ? nil : "检查治理数据库是否可写"))
        case .edgeJournal(let dataDir, let timeout):
            let path = (dataDir as NSString).appendingPathComponent("edge.db")
            guard FileManager.default.fileExists(atPath: path) else {
                throw StoreRefusal("no edge journal at \(path); give the running edge's --data DIR, or leave --data out for standalone mode")
            }
            let edgeID: String
            do {
                let peek = try SQLiteConnection(path: path, readOnly: true)
                guard let id = try peek.scalar("SELECT value FROM edge_meta WHERE key = 'edge_id'")?.text else {
                    throw StoreRefusal("\(path) has no edge id yet; start the edge once first")
                }
                edgeID = id
            }
            let journal = try EventJournal(path: path, edgeID: edgeID, now: now)
            let stored = try journal.append([event], now: now)[0]
            let deadline = Date().addingTimeInterval(timeout)
            var delivered = false
            while Date() < deadline {
                if try journal.db.scalar("SELECT delivered FROM edge_events WHERE sequence = ?", [.integer(stored.sequence)])?.integer == 1 {
                    delivered = true
                    break
                }
                Thread.sleep(forTimeInterval: 0.2)
            }
            let t = CommissionReport.TestAlarm(route: "edge", edge: edgeID, sequence: stored.sequence, confirmed: delivered,
                detail: delivered ? "消防办公室已确认存储" : "\(Int(timeout)) 秒内未收到消防办公室确认")
            return (t, .init(id: "test_alarm", title: "测试报警送达消防办公室", passed: delivered, detail: t.detail,
                             fix: delivered ? nil : "检查边缘网关是否运行、与消防办公室的网络和 MQTT 连接；测试报警已入队，恢复后会送达"))
        }
    }

    static func fileSafe(_ s: String) -> String {
        String(s.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "_" })
    }
}
