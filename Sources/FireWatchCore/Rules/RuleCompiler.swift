/// Checks a parsed rule (names, types, units) and compiles its conditions to `RuleInstruction`s.
struct RuleCompiler {
    let file: String
    let patterns: [ChannelPattern]

    enum ValueType: Equatable, CustomStringConvertible {
        case bool, state, duration
        case number(MeasurementUnit?)

        var description: String {
            switch self {
            case .bool: "a condition"
            case .state: "a detector state"
            case .duration: "a duration"
            case .number(let u?): "a number in \(u.rawValue.isEmpty ? "no unit" : u.rawValue)"
            case .number(nil): "a plain number"
            }
        }
        var isNumber: Bool { if case .number = self { return true }; return false }
    }

    /// How much of an expression is known before readings arrive.
    enum Stage: Int, Comparable {
        case literal, device, dynamic
        static func < (a: Stage, b: Stage) -> Bool { a.rawValue < b.rawValue }
    }

    struct Typed {
        var type: ValueType
        var stage: Stage
        var code: [RuleInstruction]
        var literal: Double { code.count == 1 && code[0].op == .constant ? code[0].imm : .nan }
    }

    private(set) var deviceConstants: [[RuleInstruction]] = []
    private(set) var setpointKeys: [String] = []
    /// Set values that are durations (e.g. a per-device comm-loss timeout): they lengthen the horizon.
    private(set) var durationSetpointKeys: [String] = []
    private(set) var refs: [String] = []
    private(set) var window: Double = 0
    private(set) var usesSilence = false
    private(set) var longestDuration: Double = 0
    private(set) var firstSetpointConstant: Int?

    init(file: String, patterns: [ChannelPattern]) {
        self.file = file
        self.patterns = patterns
    }

    private func fail(_ message: String, _ at: SourcePosition, hint: String? = nil) -> ConfigError {
        ConfigError(file: file, line: at.line, column: at.column, message: message, hint: hint)
    }

    private var isDeviceScope: Bool { patterns.contains { $0.isDevice } }
    private var isStateScope: Bool { !patterns.isEmpty && patterns.allSatisfy(\.isState) }
    private var hasWildcard: Bool { patterns.contains(where: \.hasWildcard) }
    private var channelUnit: MeasurementUnit? {
        let units = Set(patterns.map(\.unit))
        return units.count == 1 ? units.first! : nil
    }

    // MARK: - materialising

    /// Turns a literal or device-constant subexpression into a single instruction inside dynamic code.
    private mutating func materialize(_ t: Typed) -> [RuleInstruction] {
        switch t.stage {
        case .literal, .dynamic: return t.code
        case .device:
            deviceConstants.append(t.code)
            return [RuleInstruction(op: .deviceConstant, a: Int32(deviceConstants.count - 1))]
        }
    }

    private mutating func combine(_ op: RuleInstruction.Op, _ parts: [Typed], type: ValueType) -> Typed {
        let stage = parts.map(\.stage).max() ?? .literal
        var code: [RuleInstruction] = []
        if stage == .dynamic {
            for p in parts { code += materialize(p) }
        } else {
            for p in parts { code += p.code }
        }
        code.append(RuleInstruction(op: op))
        if stage == .literal {
            var stack: [Double] = []
            RuleInterpreter.evaluateConstant(code, stack: &stack)
            return Typed(type: type, stage: .literal, code: [RuleInstruction(op: .constant, imm: stack.last ?? .nan)])
        }
        return Typed(type: type, stage: stage, code: code)
    }

    // MARK: - conditions

    /// A condition (`when`, `clear when`) compiled to a program; returns it and whether it is a constant.
    mutating func condition(_ e: RuleExpr, what: String) throws(ConfigError) -> (code: [RuleInstruction], constant: Double?) {
        let t = try compile(e)
        guard t.type == .bool else {
            throw fail("\(what) must be a condition, but this is \(t.type)", e.position,
                       hint: "compare it, e.g. value >= 300mA")
        }
        let code = materialize(t)
        return (code, t.stage == .literal ? t.literal : nil)
    }

    /// Marks the first device constant in the raise condition as the `{setpoint}` of titles.
    mutating func noteSetpoint() {
        if firstSetpointConstant == nil {
            firstSetpointConstant = deviceConstants.firstIndex { prog in
                prog.contains { $0.op == .setpoint || $0.op == .cableRated }
            }
        }
    }

    func stackDepth(_ code: [RuleInstruction]) -> Int {
        var depth = 0, top = 0
        for i in code {
            switch i.op {
            case .constant, .deviceConstant, .value, .ownState, .ref, .refState, .silence, .avg, .max, .min, .rise:
                depth += 1
            case .abs, .negate, .not, .setpoint, .cableRated:
                break
            default:
                depth -= 1
            }
            top = Swift.max(top, depth)
        }
        return top
    }

    // MARK: - expressions

    mutating func compile(_ e: RuleExpr) throws(ConfigError) -> Typed {
        switch e.node {
        case .number(let v, let unit):
            return try number(v, unit: unit, at: e.position)
        case .string:
            throw fail("a string is only allowed in `title`", e.position)
        case .name(let n):
            return try name(n, at: e.position)
        case .call(let f, let args):
            return try call(f, args, at: e.position)
        case .not(let x):
            let t = try compile(x)
            guard t.type == .bool else { throw fail("`not` needs a condition, found \(t.type)", x.position) }
            return combine(.not, [t], type: .bool)
        case .negate(let x):
            let t = try compile(x)
            guard t.type.isNumber || t.type == .duration else { throw fail("`-` needs a number, found \(t.type)", x.position) }
            return combine(.negate, [t], type: t.type)
        case .member(let x, let items):
            let lhs = try compile(x)
            var result: Typed?
            for item in items {
                let eq = try comparison(.eq, lhs, try compile(item), at: item.position)
                result = result.map { combine(.or, [$0, eq], type: .bool) } ?? eq
            }
            return result!
        case .binary(let op, let l, let r):
            let lhs = try compile(l)
            let rhs = try compile(r)
            if op == .and || op == .or {
                guard lhs.type == .bool, rhs.type == .bool else {
                    throw fail("`\(op.rawValue)` joins conditions, found \(lhs.type == .bool ? rhs.type : lhs.type)", e.position)
                }
                return combine(op == .and ? .and : .or, [lhs, rhs], type: .bool)
            }
            if op.isComparison { return try comparison(op, lhs, rhs, at: e.position) }
            return try arithmetic(op, lhs, rhs, at: e.position)
        }
    }

    private mutating func number(_ v: Double, unit: String?, at: SourcePosition) throws(ConfigError) -> Typed {
        guard let unit else { return Typed(type: .number(nil), stage: .literal, code: [.init(op: .constant, imm: v)]) }
        if let scale = RuleParser.durationUnits[unit] {
            longestDuration = Swift.max(longestDuration, v * scale)
            return Typed(type: .duration, stage: .literal, code: [.init(op: .constant, imm: v * scale)])
        }
        guard let u = RuleUnits.value[unit] else {
            throw fail("unknown unit '\(unit)'", at, hint: "units: mA, A, V, °C, kW, kWh, ms, s, min, h")
        }
        return Typed(type: .number(u), stage: .literal, code: [.init(op: .constant, imm: v)])
    }

    /// Brings `rhs` to `lhs`'s unit, or fails when they measure different things.
    private mutating func unify(_ lhs: Typed, _ rhs: Typed, at: SourcePosition) throws(ConfigError) -> (Typed, Typed, ValueType) {
        switch (lhs.type, rhs.type) {
        case (.duration, .duration): return (lhs, rhs, .duration)
        case (.number(nil), .number(let u)), (.number(let u), .number(nil)): return (lhs, rhs, .number(u))
        case (.number(let a?), .number(let b?)):
            guard let f = RuleUnits.factor(from: b, to: a) else {
                throw fail("cannot compare or combine \(a.rawValue) with \(b.rawValue)", at,
                           hint: "write the value in the channel's unit")
            }
            if f == 1 { return (lhs, rhs, .number(a)) }
            let scaled = combine(.mul, [rhs, Typed(type: .number(nil), stage: .literal, code: [.init(op: .constant, imm: f)])],
                                 type: .number(a))
            return (lhs, scaled, .number(a))
        case (.duration, .number(nil)), (.number(nil), .duration):
            throw fail("a duration needs a unit", at, hint: "write e.g. 60s or 2min")
        default:
            throw fail("cannot combine \(lhs.type) with \(rhs.type)", at)
        }
    }

    private mutating func comparison(_ op: RuleExpr.BinaryOp, _ lhs: Typed, _ rhs: Typed, at: SourcePosition) throws(ConfigError) -> Typed {
        let code: RuleInstruction.Op = switch op {
        case .lt: .lt
        case .le: .le
        case .gt: .gt
        case .ge: .ge
        case .eq: .eq
        default: .ne
        }
        if lhs.type == .state || rhs.type == .state {
            guard lhs.type == rhs.type else {
                throw fail("a detector state compares only with a state name such as fault_open, found \(lhs.type == .state ? rhs.type : lhs.type)", at)
            }
            guard op == .eq || op == .ne else { throw fail("detector states compare with == , != or in (...)", at) }
            return combine(code, [lhs, rhs], type: .bool)
        }
        guard lhs.type != .bool, rhs.type != .bool else { throw fail("cannot compare conditions; use and / or / not", at) }
        let (l, r, _) = try unify(lhs, rhs, at: at)
        return combine(code, [l, r], type: .bool)
    }

    private mutating func arithmetic(_ op: RuleExpr.BinaryOp, _ lhs: Typed, _ rhs: Typed, at: SourcePosition) throws(ConfigError) -> Typed {
        guard lhs.type.isNumber || lhs.type == .duration, rhs.type.isNumber || rhs.type == .duration else {
            throw fail("`\(op.rawValue)` needs numbers, found \(lhs.type.isNumber ? rhs.type : lhs.type)", at)
        }
        let code: RuleInstruction.Op = switch op {
        case .add: .add
        case .sub: .sub
        case .mul: .mul
        default: .div
        }
        if op == .add || op == .sub {
            let (l, r, t) = try unify(lhs, rhs, at: at)
            return combine(code, [l, r], type: t)
        }
        // × and ÷: one side must be a plain number (a factor).
        switch (lhs.type, rhs.type) {
        case (_, .number(nil)):
            return combine(code, [lhs, rhs], type: lhs.type)
        case (.number(nil), let t) where op == .mul:
            return combine(code, [lhs, rhs], type: t)
        case (let a, let b) where op == .div && a == b:
            return combine(code, [lhs, rhs], type: .number(nil))
        default:
            throw fail("cannot \(op == .mul ? "multiply" : "divide") \(lhs.type) by \(rhs.type)", at,
                       hint: "scale by a plain number, e.g. 0.8 * setpoint(...)")
        }
    }

    static let builtinNames = ["value", "state", "silence"]

    private mutating func name(_ n: String, at: SourcePosition) throws(ConfigError) -> Typed {
        switch n {
        case "value":
            guard !isDeviceScope else { throw fail("`value` is not defined in a device rule", at, hint: "use silence or a channel such as device.online") }
            guard !isStateScope else { throw fail("`value` of a state channel; use `state`", at) }
            return Typed(type: .number(channelUnit), stage: .dynamic, code: [.init(op: .value)])
        case "state":
            guard !isDeviceScope else { throw fail("`state` is not defined in a device rule", at) }
            if isStateScope { return Typed(type: .state, stage: .dynamic, code: [.init(op: .ownState)]) }
            return Typed(type: .state, stage: .dynamic, code: [.init(op: .refState, a: ref("state.@"))])
        case "silence":
            usesSilence = true
            return Typed(type: .duration, stage: .dynamic, code: [.init(op: .silence)])
        default:
            break
        }
        if let s = DetectorState(rawValue: n) {
            return Typed(type: .state, stage: .literal, code: [.init(op: .constant, imm: Double(s.code))])
        }
        let pattern = ChannelPattern(n)
        if n.contains("."), pattern.isValid || Channel.isValid(n) {
            if n.contains("*"), !hasWildcard || isDeviceScope {
                throw fail("'\(n)' uses * but the rule watches no channel pattern with *", at)
            }
            if pattern.isState { return Typed(type: .state, stage: .dynamic, code: [.init(op: .refState, a: ref(n))]) }
            return Typed(type: .number(pattern.unit), stage: .dynamic, code: [.init(op: .ref, a: ref(n))])
        }
        throw fail("unknown name '\(n)'", at, hint: "expected value, state, silence, a channel such as temperature.* "
                        + "or state.temperature.*, or a state name (\(DetectorState.allCases.map(\.rawValue).joined(separator: ", ")))")
    }

    private mutating func ref(_ template: String) -> Int32 {
        if let i = refs.firstIndex(of: template) { return Int32(i) }
        refs.append(template)
        return Int32(refs.count - 1)
    }

    static let functions = ["setpoint(NAME, DEFAULT)", "cable_rated(DEFAULT)", "avg(DURATION)", "max(DURATION)",
                            "min(DURATION)", "rise(DURATION)", "abs(X)"]

    private mutating func call(_ f: String, _ args: [RuleExpr], at: SourcePosition) throws(ConfigError) -> Typed {
        func arity(_ n: Int) throws(ConfigError) {
            guard args.count == n else {
                throw fail("\(f) takes \(n) argument\(n == 1 ? "" : "s"), found \(args.count)", at,
                           hint: Self.functions.first { $0.hasPrefix(f + "(") })
            }
        }
        switch f {
        case "setpoint":
            try arity(2)
            guard case .name(let key) = args[0].node else {
                throw fail("setpoint's first argument is the set-value name, e.g. residual_current", args[0].position)
            }
            var d = try compile(args[1])
            guard d.stage != .dynamic, d.type.isNumber || d.type == .duration else {
                throw fail("setpoint's default must be a constant number such as 300mA", args[1].position)
            }
            // Registered set values are in the canonical unit of their quantity (residual_current → mA),
            // or of the rule's channels for other names: bring the default to that unit first.
            let head = String(key.split(separator: ".").first ?? "")
            if case .number(let u?) = d.type, let target = Channel.Quantity(rawValue: head)?.unit ?? channelUnit, target != .none {
                guard let f = RuleUnits.factor(from: u, to: target) else {
                    throw fail("set value '\(key)' is in \(target.rawValue), its default in \(u.rawValue)", args[1].position)
                }
                if f != 1 {
                    d = combine(.mul, [d, Typed(type: .number(nil), stage: .literal, code: [.init(op: .constant, imm: f)])],
                                type: .number(target))
                }
                d.type = .number(target)
            }
            setpointKeys.append(key)
            if d.type == .duration { durationSetpointKeys.append(key) }
            return Typed(type: d.type, stage: .device,
                         code: d.code + [.init(op: .setpoint, a: Int32(setpointKeys.count - 1))])
        case "cable_rated":
            try arity(1)
            let d = try compile(args[0])
            guard d.stage != .dynamic, d.type == .number(.celsius) || d.type == .number(nil) else {
                throw fail("cable_rated's default must be a temperature such as 70°C", args[0].position)
            }
            return Typed(type: .number(.celsius), stage: .device, code: d.code + [.init(op: .cableRated)])
        case "avg", "max", "min", "rise":
            try arity(1)
            guard !isDeviceScope, !isStateScope else {
                throw fail("\(f)() needs a measured channel; this rule watches \(isDeviceScope ? "the device" : "states")", at)
            }
            let d = try compile(args[0])
            guard d.type == .duration, d.stage == .literal, d.literal > 0 else {
                throw fail("\(f)() takes a window length such as 30s or 5min", args[0].position)
            }
            guard d.literal <= 86_400 else {
                throw fail("\(f)() window longer than 24 h", args[0].position, hint: "windows keep their samples in memory")
            }
            window = Swift.max(window, d.literal)
            let op: RuleInstruction.Op = switch f {
            case "avg": .avg
            case "max": .max
            case "min": .min
            default: .rise
            }
            return Typed(type: .number(channelUnit), stage: .dynamic, code: [.init(op: op, imm: d.literal)])
        case "abs":
            try arity(1)
            let t = try compile(args[0])
            guard t.type.isNumber else { throw fail("abs() needs a number, found \(t.type)", args[0].position) }
            return combine(.abs, [t], type: t.type)
        default:
            throw fail("unknown function '\(f)'", at, hint: "functions: " + Self.functions.joined(separator: ", "))
        }
    }
}
