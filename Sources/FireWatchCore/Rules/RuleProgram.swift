/// The compiled form of a rule's conditions: a flat stack-machine program, compiled once at load time
/// and run by `RuleEngine` on every reading without allocating.
struct RuleInstruction: Sendable, Equatable {
    enum Op: UInt8, Sendable {
        /// push `imm`
        case constant
        /// push the machine's device constant `a` (a set value or cable default resolved at registration)
        case deviceConstant
        /// push the latest number of the rule's own channel (NaN before the first)
        case value
        /// push the latest state code of the rule's own `state.*` channel (-1 before the first)
        case ownState
        /// push the latest number / state code of referenced channel `a` of the same device
        case ref
        case refState
        /// push seconds since the device last sent data
        case silence
        /// window functions over the last `imm` seconds of the own channel
        case avg, max, min, rise
        case abs, negate, not
        case add, sub, mul, div
        case lt, le, gt, ge, eq, ne
        case and, or
        /// device-constant programs only: pop the default, push set value `a` of the device (or the default)
        case setpoint
        /// device-constant programs only: pop the default, push the cable's rated temperature (or the default)
        case cableRated
    }
    var op: Op
    var a: Int32 = 0
    var imm: Double = 0
}

/// What `RuleEngine` needs of one rule, precomputed.
struct CompiledRule: Sendable {
    var raise: [RuleInstruction]
    /// nil: the rule clears when `raise` no longer holds.
    var clear: [RuleInstruction]?
    /// Device-constant subprograms (set values, cable defaults), evaluated per machine at registration.
    var deviceConstants: [[RuleInstruction]]
    /// Set-value names used by `setpoint` instructions (`*` is the matched index).
    var setpointKeys: [String]
    /// Index into `deviceConstants` of the set value shown as `{setpoint}` in titles.
    var setpointConstant: Int?
    /// Channels read besides the own one; `*` is the matched index, `@` the matched channel.
    var refs: [String]
    /// Longest window used, seconds (0: no window).
    var window: Double
    var usesSilence: Bool
    var stackDepth: Int
    /// Set-value names whose values are durations in seconds.
    var durationSetpointKeys: [String]
    /// Longest duration written in a condition (windows, silence thresholds), seconds.
    var longestDuration: Double
}

/// Units of literals and the canonical unit each converts to.
enum RuleUnits {
    static let value: [String: MeasurementUnit] = [
        "mA": .milliampere, "A": .ampere, "V": .volt, "°C": .celsius, "℃": .celsius,
        "kW": .kilowatt, "kWh": .kilowattHour,
    ]

    /// Factor that turns a number in `from` into `to`, if the two measure the same thing.
    static func factor(from: MeasurementUnit, to: MeasurementUnit) -> Double? {
        if from == to { return 1 }
        switch (from, to) {
        case (.milliampere, .ampere): return 0.001
        case (.ampere, .milliampere): return 1000
        case (.kilowatt, .kilowattHour), (.kilowattHour, .kilowatt): return nil
        default: return nil
        }
    }
}
