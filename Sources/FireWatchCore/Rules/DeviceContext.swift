/// What the engine knows of a device: its registered set values, cable class and whether its events
/// are announced (false for shelved / out-of-service devices, ISA-18.2).
public struct DeviceContext: Sendable, Equatable, Codable {
    public var id: String
    /// Set values by name, in canonical units: `residual_current.1`, or `residual_current` for all loops.
    public var setpoints: [String: Double]
    public var cable: Device.CableClass?
    public var announced: Bool

    public init(id: String, setpoints: [String: Double] = [:], cable: Device.CableClass? = nil, announced: Bool = true) {
        self.id = id
        self.setpoints = setpoints
        self.cable = cable
        self.announced = announced
    }

    public init(_ device: Device) {
        self.init(id: device.id, setpoints: device.setpoints, cable: device.cable, announced: device.isAnnounced)
    }

    enum CodingKeys: String, CodingKey { case id, setpoints, cable, announced }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        setpoints = try c.decodeIfPresent([String: Double].self, forKey: .setpoints) ?? [:]
        cable = try c.decodeIfPresent(Device.CableClass.self, forKey: .cable)
        announced = try c.decodeIfPresent(Bool.self, forKey: .announced) ?? true
    }
}
