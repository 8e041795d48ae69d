import Foundation

/// What a loaded rule set does with the channels of one profile (`device register`, `device commission`):
/// which rules watch which of its channels, which can never fire for it, which read channels it lacks.
///
/// Matching is the engine's own (`ChannelPattern.binding`): `temperature.*` matches `temperature.1` but not
/// `state.temperature.1` or `temperature.1.x`; `device` rules (comm loss) run for every device and are never
/// "missing". Reads of other channels come from `RuleSet.missingChannels(provided:)`.
public struct RuleCoverage: Sendable, Equatable {
    /// A channel-level rule with the profile's channels it watches (empty: it never fires for this profile).
    public struct Entry: Sendable, Equatable {
        public var rule: String
        public var signal: SignalClass
        /// The rule's channel patterns as written, e.g. `["temperature.*"]`.
        public var patterns: [String]
        /// Provided channels it watches, sorted.
        public var channels: [String]
    }

    /// A channel a rule reads besides the one it watches, and the profile does not provide.
    public struct MissingRead: Sendable, Equatable {
        public var rule: String
        public var channel: String
    }

    public var profile: String
    /// Every channel-level rule in rule-set order.
    public var entries: [Entry]
    /// Device-level rules (`on device`): they apply whatever the profile provides.
    public var deviceRules: [String]
    public var missingReads: [MissingRead]
    /// The rule files, for messages.
    public var files: [String]

    /// Channels every device has whatever its profile lists: adapters emit `device.online` after every poll or message
    /// (docs/architecture.md, Liveness).
    public static let implicitChannels: Set<String> = ["device.online"]

    public init(rules: RuleSet, profile: ProfileCapabilities) {
        self.init(rules: rules, profileID: profile.id, channels: profile.channels)
    }

    public init(rules: RuleSet, profileID: String, channels: Set<String>) {
        let provided = channels.union(Self.implicitChannels)
        profile = profileID
        entries = rules.rules.filter { !$0.isDeviceLevel }.map { rule in
            Entry(rule: rule.name, signal: rule.signal, patterns: rule.patterns.map(\.text),
                  channels: provided.filter { c in rule.patterns.contains { $0.matches(c) } }.sorted())
        }
        deviceRules = rules.rules.filter(\.isDeviceLevel).map(\.name)
        missingReads = rules.missingChannels(provided: provided).map { MissingRead(rule: $0.rule, channel: $0.channel) }
        var seen = Set<String>()
        files = rules.rules.map(\.file).filter { seen.insert($0).inserted }
    }

    /// Channel-level rules that watch at least one of the profile's channels.
    public var watching: [Entry] { entries.filter { !$0.channels.isEmpty } }
    /// Channel-level rules that watch none of the profile's channels: they never fire for such a device.
    public var neverFiring: [Entry] { entries.filter { $0.channels.isEmpty } }
    /// Whether some alarm or pre-alarm rule watches one of the profile's channels (fault and comm-loss
    /// rules alone never warn of a fire).
    public var canAlarm: Bool { watching.contains { $0.signal != .fault } }

    /// Measured channels (not `state.*`, not `device.*`) of the profile that some rule watches:
    /// the ones commissioning must read a plausible value from.
    public var watchedMeasuredChannels: [String] {
        Set(watching.flatMap(\.channels)).filter { !$0.hasPrefix("state.") && !$0.hasPrefix("device.") }.sorted()
    }

    /// The rules that never fire, one line per channel pattern set, in zh-CN for the technician:
    /// `型号 P 不提供 temperature.* 通道：规则 a、b 对该探测器永不触发`.
    public var neverFiringLines: [String] {
        var groups: [(patterns: String, rules: [String])] = []
        for e in neverFiring {
            let key = e.patterns.joined(separator: "、")
            if let i = groups.firstIndex(where: { $0.patterns == key }) { groups[i].rules.append(e.rule) }
            else { groups.append((key, [e.rule])) }
        }
        return groups.map { "型号 \(profile) 不提供 \($0.patterns) 通道：规则 \($0.rules.joined(separator: "、")) 对该探测器永不触发" }
    }

    /// Rules that read channels the profile lacks, one line per rule, in zh-CN.
    public var missingReadLines: [String] {
        var groups: [(rule: String, channels: [String])] = []
        for m in missingReads {
            if let i = groups.firstIndex(where: { $0.rule == m.rule }) { groups[i].channels.append(m.channel) }
            else { groups.append((m.rule, [m.channel])) }
        }
        return groups.map {
            "规则 \($0.rule) 还读取 \($0.channels.joined(separator: "、"))，型号 \(profile) 不提供：条件中这些通道始终按无数据计算"
        }
    }

    /// Every warning for the technician: never-firing rules, then missing reads.
    public var warnings: [String] { neverFiringLines + missingReadLines }

    /// Why no alarm can come from this profile, in zh-CN (for the refusal and the failed commissioning check).
    public var noAlarmReason: String {
        let faults = watching.map(\.rule)
        let watched = Set(entries.filter { $0.signal != .fault }.flatMap(\.patterns)).sorted()
        return "型号 \(profile) 的通道没有任何报警或预警规则监视（规则文件 \(files.joined(separator: "、"))）"
            + (faults.isEmpty ? "" : "，只有故障规则 \(faults.joined(separator: "、")) 监视它")
            + "：登记后该探测器永远不会报警。报警规则监视的通道：\(watched.isEmpty ? "无" : watched.joined(separator: "、"))"
    }
}
