/// Every device profile of a `Devices/` folder: Modbus and MQTT, by id.
public struct ProfileLibrary: Sendable {
    public var modbus: [String: ModbusProfile]
    public var mqtt: [String: MQTTProfile]

    public init(modbus: [String: ModbusProfile] = [:], mqtt: [String: MQTTProfile] = [:]) {
        self.modbus = modbus
        self.mqtt = mqtt
    }

    /// Loads both kinds, collecting every file's errors so a person fixes them in one pass.
    public static func load(directory: String) throws(ConfigErrors) -> ProfileLibrary {
        var errors: [ConfigError] = []
        var library = ProfileLibrary()
        do { library.modbus = try ModbusProfile.loadAll(directory: directory) } catch { errors += error.errors }
        do {
            let list = try MQTTProfile.load(directory: directory)
            library.mqtt = Dictionary(list.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        } catch { errors += error.errors }
        for id in Set(library.modbus.keys).intersection(library.mqtt.keys).sorted() {
            errors.append(ConfigError(file: library.modbus[id]!.file, message: "profile id '\(id)' is used by a Modbus and an MQTT profile",
                                      hint: "give every profile its own id"))
        }
        if !errors.isEmpty { throw ConfigErrors(errors) }
        return library
    }

    public var ids: [String] { (Array(modbus.keys) + Array(mqtt.keys)).sorted() }

    /// The canonical channels a profile provides (nil when the id is unknown).
    public func channels(of id: String) -> [Channel]? {
        if let m = modbus[id] { return m.channels }
        if let q = mqtt[id] { return q.channels }
        if id.hasPrefix("generic:"), let g = try? ModbusProfile.generic(parameters: id) { return g.channels }
        return nil
    }
}
