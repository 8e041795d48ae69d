/// A channel of a device, interned by the engine: the key of the allocation-free fast path.
public struct EngineSlot: Sendable, Hashable {
    public let index: Int32
}
