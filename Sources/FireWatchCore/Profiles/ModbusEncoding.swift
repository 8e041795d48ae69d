/// The inverse of decoding: what the registers of a device of this model hold for given values.
/// Used by the market simulator (to serve a profile's layout) and by set-value writes.
extension ModbusProfile {
    /// Writes `value` of a measured channel, or a `DetectorState` of a `state.*` channel, into `image`.
    /// Bit fields are read-modify-written. A state the model reports only through a sentinel writes the
    /// sentinel into the measured register. Returns false when the profile does not carry the channel.
    @discardableResult
    public func encode(_ channel: Channel, _ value: Reading.Value, into image: inout RegisterImage) -> Bool {
        switch value {
        case .state(let state):
            if let s = states.first(where: { $0.channel == channel }),
               let code = s.codes.filter({ $0.value == state }).map(\.key).min() {
                ModbusProfile.put(UInt32(code), s.register, into: &image)
                return true
            }
            if let subject = channel.stateSubject, let m = measurements.first(where: { $0.channel == subject }),
               let raw = m.sentinels.filter({ $0.value == state }).map(\.key).min() {
                ModbusProfile.put(raw, m.register, into: &image)
                return true
            }
            return false
        case .number(let number):
            guard let m = measurements.first(where: { $0.channel == channel }) else { return false }
            ModbusProfile.put(m.register.raw(forNumber: (number - m.offset) / m.scale), m.register, into: &image)
            return true
        case .invalid:
            guard let m = measurements.first(where: { $0.channel == channel }),
                  let raw = m.sentinels.keys.min() else { return false }
            ModbusProfile.put(raw, m.register, into: &image)
            return true
        }
    }

    /// The words that carry set value `value` (canonical units) of `channel`, or nil if it has no set-value register.
    public func setpointWords(_ channel: Channel, _ value: Double) -> (register: Register, words: [UInt16])? {
        guard let s = setpoints.first(where: { $0.channel == channel }) else { return nil }
        return (s.register, s.register.words(forRaw: s.register.raw(forNumber: (value - s.offset) / s.scale)))
    }

    /// Writes a set value into `image`; false when the channel has no set-value register.
    @discardableResult
    public func encodeSetpoint(_ channel: Channel, _ value: Double, into image: inout RegisterImage) -> Bool {
        guard let (register, words) = setpointWords(channel, value) else { return false }
        for (i, w) in words.enumerated() { image.set(register.table, register.address + i, w) }
        return true
    }

    /// Writes the identity values into `image`, so a simulated device is recognised by `device scan`.
    public func encodeIdentity(into image: inout RegisterImage) {
        for id in identity { ModbusProfile.put(id.equals, id.register, into: &image) }
    }

    static func put(_ raw: UInt32, _ register: Register, into image: inout RegisterImage) {
        if let bits = register.bits {
            let old = image[register.table, register.address] ?? 0
            let width = bits.high - bits.low + 1
            let mask = UInt16(truncatingIfNeeded: ((1 << width) - 1) << bits.low)
            let new = (old & ~mask) | (UInt16(truncatingIfNeeded: raw << UInt32(bits.low)) & mask)
            image.set(register.table, register.address, new)
            return
        }
        for (i, w) in register.words(forRaw: raw).enumerated() { image.set(register.table, register.address + i, w) }
    }
}
