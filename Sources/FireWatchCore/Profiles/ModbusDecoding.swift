extension ModbusProfile.Register {
    /// The raw unsigned value: words joined in the register's word order, then its bit field.
    public func raw(from words: [UInt16]) -> UInt32? {
        guard words.count >= count else { return nil }
        var value: UInt32
        if count == 1 {
            value = UInt32(words[0])
        } else {
            let w0 = words[0], w1 = words[1]
            switch order {
            case .abcd: value = UInt32(w0) << 16 | UInt32(w1)
            case .cdab: value = UInt32(w1) << 16 | UInt32(w0)
            case .badc: value = UInt32(w0.byteSwapped) << 16 | UInt32(w1.byteSwapped)
            case .dcba: value = UInt32(w1.byteSwapped) << 16 | UInt32(w0.byteSwapped)
            }
        }
        if let bits, count == 1 { value = UInt32(bits.extract(UInt16(value))) }
        return value
    }

    /// The raw value read as the register's type (signed, float) before scale and offset.
    public func number(fromRaw raw: UInt32) -> Double {
        if bits != nil { return Double(raw) }
        switch type {
        case .u16, .u32, .bit: return Double(raw)
        case .i16: return Double(Int16(bitPattern: UInt16(truncatingIfNeeded: raw)))
        case .i32: return Double(Int32(bitPattern: raw))
        case .f32: return Double(Float(bitPattern: raw))
        }
    }

    /// The words that carry `raw` in this register's word order (inverse of `raw(from:)`, without bits).
    public func words(forRaw raw: UInt32) -> [UInt16] {
        if count == 1 { return [UInt16(truncatingIfNeeded: raw)] }
        let hi = UInt16(truncatingIfNeeded: raw >> 16), lo = UInt16(truncatingIfNeeded: raw)
        switch order {
        case .abcd: return [hi, lo]
        case .cdab: return [lo, hi]
        case .badc: return [hi.byteSwapped, lo.byteSwapped]
        case .dcba: return [lo.byteSwapped, hi.byteSwapped]
        }
    }

    /// The raw pattern of a number in this register's type (rounded and clamped for integers).
    public func raw(forNumber number: Double) -> UInt32 {
        func clamp(_ x: Double, _ lo: Double, _ hi: Double) -> Double { min(max(x.rounded(), lo), hi) }
        if let bits {
            let maxValue = Double((1 << (bits.high - bits.low + 1)) - 1)
            return UInt32(clamp(number, 0, maxValue))
        }
        switch type {
        case .u16: return UInt32(clamp(number, 0, 65535))
        case .bit: return number != 0 ? 1 : 0
        case .i16: return UInt32(UInt16(bitPattern: Int16(clamp(number, -32768, 32767))))
        case .u32: return UInt32(clamp(number, 0, 4_294_967_295))
        case .i32: return UInt32(bitPattern: Int32(clamp(number, -2_147_483_648, 2_147_483_647)))
        case .f32: return Float(number).bitPattern
        }
    }
}

extension ModbusProfile {
    /// States that mean the probe or transformer is not measuring: its value is reported `invalid`.
    static let notMeasuring: Set<DetectorState> = [.faultOpen, .faultShort, .ctBreak]

    /// Decodes one poll's registers into readings of canonical channels, in channel order:
    /// each measured channel (number, or `invalid` on a sentinel or while its own state says the probe
    /// is open/short/broken) and each `state.*` channel. A state the device reports through both a
    /// state register and a sentinel takes the more severe of the two. Channels whose registers are
    /// missing from `image` are left out; an unknown state code gives `invalid`.
    public func decode(_ image: RegisterImage, device: String, time: Double) -> [Reading] {
        var values: [Channel: Reading.Value] = [:]
        var stateValues: [Channel: Reading.Value] = [:]

        func worse(_ a: DetectorState, _ b: DetectorState) -> DetectorState {
            func rank(_ s: DetectorState) -> Int {
                switch s.signalClass {
                case .alarm?: 3
                case .fault?: 2
                case .prealarm?: 1
                case nil: 0
                }
            }
            return rank(b) > rank(a) ? b : a
        }
        func merge(_ channel: Channel, _ value: Reading.Value) {
            if case .state(let new) = value, case .state(let old)? = stateValues[channel] {
                stateValues[channel] = .state(worse(old, new))
            } else if stateValues[channel] == nil || value != .invalid {
                stateValues[channel] = value
            }
        }

        for s in states {
            guard let words = image.words(of: s.register), let raw = s.register.raw(from: words) else { continue }
            if let state = s.codes[Int(raw)] { merge(s.channel, .state(state)) } else { merge(s.channel, .invalid) }
        }
        for m in measurements {
            guard let words = image.words(of: m.register), let raw = m.register.raw(from: words) else { continue }
            if let sentinel = m.sentinels[raw] {
                values[m.channel] = .invalid
                if let state = sentinel { merge(m.channel.stateChannel, .state(state)) }
                continue
            }
            var number = m.register.number(fromRaw: raw) * m.scale + m.offset
            // Integer registers with a decimal scale: 41 × 0.1 is 4.1, not 4.1000000000000005.
            if m.register.type != .f32, m.scale != 1 { number = (number * 1e6).rounded() / 1e6 }
            values[m.channel] = number.isFinite ? .number(number) : .invalid
        }
        for (channel, value) in stateValues {
            if case .state(let s) = value, ModbusProfile.notMeasuring.contains(s), let subject = channel.stateSubject,
               values[subject] != nil {
                values[subject] = .invalid
            }
        }
        var readings = values.map { Reading(device: device, channel: $0.key, value: $0.value, time: time) }
        readings += stateValues.map { Reading(device: device, channel: $0.key, value: $0.value, time: time) }
        return readings.sorted { $0.channel < $1.channel }
    }

    /// The set values the device holds, by measured channel, in canonical units.
    public func decodeSetpoints(_ image: RegisterImage) -> [Channel: Double] {
        var out: [Channel: Double] = [:]
        for s in setpoints {
            guard let words = image.words(of: s.register), let raw = s.register.raw(from: words) else { continue }
            let value = s.register.number(fromRaw: raw) * s.scale + s.offset
            out[s.channel] = s.register.type == .f32 ? value : (value * 1e6).rounded() / 1e6
        }
        return out
    }

    /// Whether the identity registers in `image` match this model (false when it has none).
    public func matchesIdentity(_ image: RegisterImage) -> Bool {
        guard !identity.isEmpty else { return false }
        return identity.allSatisfy { id in
            guard let words = image.words(of: id.register), let raw = id.register.raw(from: words) else { return false }
            return raw == id.equals
        }
    }
}
