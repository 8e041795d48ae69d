/// The values of the fields one profile reads, taken from one payload in one strict pass.
///
/// Made by `MQTTProfile.fields(_:)` (or, for a parsed tree, by the tree-based entry points); holds
/// one value per path of the profile's field plan, nil where the payload does not have it.
public struct MQTTPayloadFields: Sendable {
    let plan: MQTTFieldPlan
    var values: [JSONValue?]

    /// The value at `path`, a path of the profile whose plan made these fields.
    subscript(path: MQTTProfile.FieldPath) -> JSONValue? { values[path.slot] }
}

extension MQTTProfile {
    /// Parses strictly, keeping only this profile's fields. `.notJSON` / `.notAnObject` like today;
    /// a payload over `limits.maxPayloadBytes` is `.tooLarge` without being read.
    public func fields(_ payload: UnsafeBufferPointer<UInt8>) -> Result<MQTTPayloadFields, MQTTPayloadRejection> {
        guard payload.count <= limits.maxPayloadBytes else {
            return .failure(.tooLarge(bytes: payload.count, limit: limits.maxPayloadBytes))
        }
        switch plan.scan(payload) {
        case .failure(let e): return .failure(.notJSON(e.description))
        case .success(nil): return .failure(.notAnObject)
        case .success(let fields?): return .success(fields)
        }
    }

    public func fields(_ payload: [UInt8]) -> Result<MQTTPayloadFields, MQTTPayloadRejection> {
        payload.withUnsafeBufferPointer { fields($0) }
    }

    /// True when `fields` came from this profile's plan (a specialised profile has another plan).
    public func canDecode(_ fields: MQTTPayloadFields) -> Bool { fields.plan === plan }
}
