/// A hazard title template such as `"剩余电流超限：{device} {channel_label} {value} mA（设定 {setpoint} mA）"`,
/// split once at load time; rendered only when an event is made.
struct TitleTemplate: Sendable, Equatable {
    enum Placeholder: String, Sendable, CaseIterable {
        case device, channel, value, setpoint, unit, state, rule
        case channelLabel = "channel_label"
    }
    enum Part: Sendable, Equatable {
        case text(String)
        case placeholder(Placeholder)
    }
    var parts: [Part]

    /// Returns nil and the unknown name if a `{...}` is not a placeholder.
    static func parse(_ text: String) -> (TitleTemplate?, unknown: String?) {
        var parts: [Part] = []
        var rest = Substring(text)
        while let open = rest.firstIndex(of: "{") {
            if open > rest.startIndex { parts.append(.text(String(rest[..<open]))) }
            guard let close = rest[open...].firstIndex(of: "}") else { return (nil, String(rest[open...])) }
            let name = String(rest[rest.index(after: open)..<close])
            guard let p = Placeholder(rawValue: name) else { return (nil, name) }
            parts.append(.placeholder(p))
            rest = rest[rest.index(after: close)...]
        }
        if !rest.isEmpty { parts.append(.text(String(rest))) }
        return (TitleTemplate(parts: parts), nil)
    }

    struct Values {
        var device: String
        var channel: String
        var value: Double?
        var setpoint: Double?
        var unit: String
        var state: DetectorState?
        var rule: String
    }

    func render(_ v: Values) -> String {
        var out = ""
        for part in parts {
            switch part {
            case .text(let t): out += t
            case .placeholder(let p):
                switch p {
                case .device: out += v.device
                case .channel: out += v.channel
                case .channelLabel: out += Self.label(channel: v.channel)
                case .value: out += v.value.map(RuleFormat.number) ?? "—"
                case .setpoint: out += v.setpoint.map(RuleFormat.number) ?? "—"
                case .unit: out += v.unit
                case .state: out += v.state?.label ?? "—"
                case .rule: out += v.rule
                }
            }
        }
        return out
    }

    /// Chinese label of a canonical channel: `temperature.2` → 温度2, `state.residual_current.1` → 剩余电流1状态.
    static func label(channel: String) -> String {
        if channel.isEmpty { return "设备" }
        var name = channel
        var suffix = ""
        if name.hasPrefix("state.") {
            name = String(name.dropFirst(6))
            suffix = "状态"
        }
        let parts = name.split(separator: ".", maxSplits: 1).map(String.init)
        let heads: [String: String] = [
            "residual_current": "剩余电流", "temperature": "温度", "current": "电流", "voltage": "电压",
            "arc": "故障电弧", "power": "功率", "energy": "电能", "power_factor": "功率因数",
        ]
        if parts.first == "device" {
            let devices: [String: String] = ["online": "在线", "signal": "信号", "selftest": "自检"]
            return "设备" + (parts.count > 1 ? devices[parts[1]] ?? parts[1] : "")
        }
        guard let head = heads[parts[0]] else { return channel }
        var index = parts.count > 1 ? parts[1] : ""
        if ["a", "b", "c"].contains(index) { index = index.uppercased() + "相" }
        return head + index + suffix
    }
}
