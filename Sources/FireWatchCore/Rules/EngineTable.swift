/// A growable array of plain values for the engine's hot tables: unchecked, non-reference-counted
/// storage, so reading and writing an element in the hot path costs a load or a store (no bounds,
/// uniqueness or exclusivity checks). Grows only when channels or devices are first seen.
///
/// Owned by exactly one `RuleEngine`, which calls `free()` in its deinit; never copied out of it.
struct EngineTable<Element: BitwiseCopyable>: RandomAccessCollection, MutableCollection {
    private(set) var base: UnsafeMutablePointer<Element>
    private(set) var count: Int = 0
    private var capacity: Int

    init(capacity: Int = 16) {
        self.capacity = Swift.max(capacity, 1)
        base = .allocate(capacity: self.capacity)
    }

    func free() { base.deallocate() }

    var startIndex: Int { 0 }
    var endIndex: Int { count }

    subscript(i: Int) -> Element {
        @inline(__always) get {
            assert(i >= 0 && i < count, "engine table index out of range")
            return base[i]
        }
        @inline(__always) nonmutating set {
            assert(i >= 0 && i < count, "engine table index out of range")
            base[i] = newValue
        }
    }

    mutating func append(_ e: Element) {
        if count == capacity { grow(to: capacity * 2) }
        (base + count).initialize(to: e)
        count += 1
    }

    mutating func append(contentsOf s: some Sequence<Element>) { for e in s { append(e) } }

    mutating func append(repeating e: Element, count n: Int) { for _ in 0..<n { append(e) } }

    private mutating func grow(to newCapacity: Int) {
        let fresh = UnsafeMutablePointer<Element>.allocate(capacity: newCapacity)
        fresh.moveInitialize(from: base, count: count)
        base.deallocate()
        base = fresh
        capacity = newCapacity
    }

    static func += (table: inout EngineTable, s: some Sequence<Element>) { table.append(contentsOf: s) }
}
