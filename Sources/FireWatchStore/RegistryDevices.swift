import FireWatchCore
import Foundation

/// A row of `device_history`.
public struct DeviceHistoryEntry: Sendable, Equatable, Codable {
    public var time: Double
    public var action: String
    public var actor: String
    public var detail: String

    public init(time: Double, action: String, actor: String, detail: String) {
        self.time = time
        self.action = action
        self.actor = actor
        self.detail = detail
    }
}

/// What a successful registration returns: the saved device and warnings worth showing.
public struct RegistrationOutcome: Sendable, Equatable {
    public var device: Device
    public var premises: Premises
    public var warnings: [String]
}

/// The device lifecycle as library calls (`device register | move | decommission`, later the phone
/// flow): every refusal is a `RegistrationProblem` saying what is wrong and what to do.
public struct RegistrationService {
    public let store: SQLiteGovernanceStore
    public let profiles: [String: ProfileCapabilities]

    public init(store: SQLiteGovernanceStore, profiles: [String: ProfileCapabilities]) {
        self.store = store
        self.profiles = profiles
    }

    /// Validates and registers a detector: premises exists and is active, address free, profile and set values fit,
    /// and some alarm rule of `rules` (the set the edge runs) watches the profile's channels.
    public func register(_ r: RegistrationRequest, rules: RuleSet, now: Double) throws -> Result<RegistrationOutcome, RegistrationProblem> {
        guard let premises = try store.premises(qrOrID: r.premises) else {
            return .failure(RegistrationProblem("premises_unknown",
                "no premises with QR code or platform id '\(r.premises)'; scan the plate again, or import the registry "
                + "(`firewatch premises import FILE.csv`), or search with `firewatch premises find TEXT`"))
        }
        guard premises.status == .active else {
            return .failure(RegistrationProblem("premises_closed",
                "premises \(premises.platformID) \(premises.name) is closed (关闭) in the registry; detectors go on active premises only — "
                + "ask the governance platform to reopen it, or check the QR plate"))
        }
        let profile: ProfileCapabilities
        switch ProfileCatalog.resolve(r.profile, in: profiles) {
        case .success(let p): profile = p
        case .failure(let problem): return .failure(problem)
        }
        let warnings: [String]
        do { warnings = try RegistrationPolicy.check(r, profile: profile) + RegistrationPolicy.checkRules(profile: profile, rules: rules) }
        catch { return .failure(error) }
        let id = r.id ?? RegistrationPolicy.defaultID(premisesID: premises.platformID, transport: r.transport)
        if let existing = try store.device(id: id), existing.status != .decommissioned {
            return .failure(RegistrationProblem("id_in_use",
                "device id \(id) is already registered at premises \(existing.premisesID) (\(existing.location)); "
                + "use `firewatch device move \(id)` to change it, or give another --id"))
        }
        if let other = try deviceUsing(r.transport, market: premises.marketID) {
            return .failure(RegistrationProblem("address_in_use", addressInUse(r.transport, by: other)))
        }
        let device = Device(id: id, serial: r.serial, profileID: profile.id, premisesID: premises.platformID,
                            marketID: premises.marketID, location: r.location, transport: r.transport, setpoints: r.setpoints,
                            cable: r.cable, status: .registered)
        let detail = "场所 \(premises.platformID) \(premises.name) · \(r.location) · \(r.transport) · 型号 \(profile.id)"
            + (r.setpoints.isEmpty ? "" : " · 设定值 " + r.setpoints.sorted { $0.key < $1.key }.map { "\($0.key)=\(RegistrationPolicy.fmt($0.value))" }.joined(separator: ","))
        try store.saveDevice(device, action: "registered", actor: r.actor, detail: detail, now: now)
        return .success(RegistrationOutcome(device: device, premises: premises, warnings: warnings))
    }

    /// Moves a detector to another premises, location or address; history keeps where it was.
    public func move(id: String, premises newPremises: String?, location: String?, transport: Transport?, actor: String,
                     now: Double) throws -> Result<Device, RegistrationProblem> {
        guard var d = try store.device(id: id) else {
            return .failure(RegistrationProblem("device_unknown", "no device with id \(id); see `firewatch device list`"))
        }
        guard d.status != .decommissioned else {
            return .failure(RegistrationProblem("decommissioned", "device \(id) is decommissioned; register it again instead"))
        }
        var changes: [String] = []
        if let key = newPremises {
            guard let p = try store.premises(qrOrID: key) else {
                return .failure(RegistrationProblem("premises_unknown", "no premises with QR code or platform id '\(key)'"))
            }
            guard p.status == .active else {
                return .failure(RegistrationProblem("premises_closed", "premises \(p.platformID) \(p.name) is closed; choose an active one"))
            }
            if p.platformID != d.premisesID {
                changes.append("场所 \(d.premisesID) → \(p.platformID)")
                d.premisesID = p.platformID
                d.marketID = p.marketID
            }
        }
        if let location, location != d.location {
            guard !location.trimmingCharacters(in: .whitespaces).isEmpty else {
                return .failure(RegistrationProblem("location", "--location is empty"))
            }
            changes.append("位置 \(d.location) → \(location)")
            d.location = location
        }
        if let transport, transport != d.transport {
            if case .success(let profile) = ProfileCatalog.resolve(d.profileID, in: profiles) {
                var probe = RegistrationRequest(premises: d.premisesID, profile: d.profileID, transport: transport,
                                                location: d.location, actor: actor)
                probe.cable = d.cable
                do { _ = try RegistrationPolicy.check(probe, profile: profile) } catch { return .failure(error) }
            }
            if let other = try deviceUsing(transport, market: d.marketID), other.id != d.id {
                return .failure(RegistrationProblem("address_in_use", addressInUse(transport, by: other)))
            }
            changes.append("地址 \(d.transport) → \(transport)")
            d.transport = transport
        }
        guard !changes.isEmpty else {
            return .failure(RegistrationProblem("no_change", "nothing to change: give --premises, --location or a new address"))
        }
        // A moved detector must be commissioned again where it now hangs.
        if d.status == .commissioned { d.status = .registered; changes.append("需重新调试") }
        try store.saveDevice(d, action: "moved", actor: actor, detail: changes.joined(separator: " · "), now: now)
        return .success(d)
    }

    /// Takes a detector out of the registry for good (its address becomes free; history stays).
    public func decommission(id: String, reason: String, actor: String, now: Double) throws -> Result<Device, RegistrationProblem> {
        guard var d = try store.device(id: id) else {
            return .failure(RegistrationProblem("device_unknown", "no device with id \(id); see `firewatch device list`"))
        }
        guard d.status != .decommissioned else {
            return .failure(RegistrationProblem("decommissioned", "device \(id) is already decommissioned"))
        }
        d.status = .decommissioned
        try store.saveDevice(d, action: "decommissioned", actor: actor, detail: reason, now: now)
        return .success(d)
    }

    func deviceUsing(_ t: Transport, market: String?) throws -> Device? {
        try store.activeDevice(transport: t, marketID: market)
    }

    func addressInUse(_ t: Transport, by other: Device) -> String {
        let what: String = switch t {
        case .modbusRTU(let bus, let unit): "unit \(unit) on bus \(bus)"
        case .modbusTCP(let host, let port, let unit): "unit \(unit) at \(host):\(port)"
        case .mqtt(let id): "MQTT id \(id)"
        }
        return "\(what) is already used by device \(other.id) at premises \(other.premisesID) (\(other.location)); "
            + "set another address on the detector and give that one, or decommission \(other.id) first"
    }
}

extension SQLiteGovernanceStore {
    /// The device not decommissioned that uses this transport address in this market, if any. Addresses
    /// are edge-local (bus names, gateway IPs, unit ids), so two markets may each have `rtu://bus1#3`.
    public func activeDevice(transport t: Transport, marketID: String?) throws -> Device? {
        try db.query("""
            SELECT \(Self.deviceColumns) FROM devices
            WHERE transport = ? AND IFNULL(market_id, '') = IFNULL(?, '') AND status <> 'decommissioned'
            """, [.text(t.description), SQLValue(marketID)], device).first
    }

    public func devices(premisesID: String) throws -> [Device] {
        try db.query("SELECT \(Self.deviceColumns) FROM devices WHERE premises_id = ? ORDER BY id", [.text(premisesID)], device)
    }

    public func deviceHistory(id: String) throws -> [DeviceHistoryEntry] {
        try db.query("SELECT time, action, actor, detail FROM device_history WHERE device_id = ? ORDER BY time, id", [.text(id)]) {
            DeviceHistoryEntry(time: $0.double(0), action: $0.text(1), actor: $0.text(2), detail: $0.text(3))
        }
    }

    /// Appends a history entry without changing the device (a failed commissioning, a note).
    public func appendDeviceHistory(id: String, _ e: DeviceHistoryEntry) throws {
        try db.run("INSERT INTO device_history (device_id, time, action, actor, detail) VALUES (?, ?, ?, ?, ?)",
                   [.text(id), .real(e.time), .text(e.action), .text(e.actor), .text(e.detail)])
    }
}
