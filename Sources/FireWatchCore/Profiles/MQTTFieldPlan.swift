/// Every field path one profile reads, compiled into a trie over path parts (object keys, and array
/// indices for parts that are numbers, as in `data.0.value`), so one pass over a payload keeps just
/// those values. Each path's leaf has a slot; `MQTTPayloadFields` holds the values by slot.
///
/// Built once per profile by `MQTTProfile.reindex()`; immutable, so shared freely.
final class MQTTFieldPlan: Sendable {
    struct Node: Sendable {
        /// The slot of the path that ends here, or -1.
        var slot: Int
        /// The slots of every path through this node (slots are numbered depth first).
        var slots: Range<Int>
        /// This node's edges in `edges`.
        var edges: Range<Int>
        /// How many parts lead here from the root.
        var level: Int
        /// The largest array index among the edges, or -1.
        var maxIndex: Int
    }

    /// One part of a path below a node. Plain data (the name's text is in `edgeNames`), so walking
    /// edges copies no reference.
    struct Edge: Sendable {
        /// The name's UTF-8 bytes in `names`, and the first 16 of them as two words (`words`).
        var bytes: Range<Int>
        var head: UInt64
        var tail: UInt64
        var isASCII: Bool
        /// The array element this part names when it is a number (`Int(part)`, as the tree lookup reads it).
        var index: Int?
        var node: Int
    }

    let nodes: [Node]
    let edges: [Edge]
    let names: [UInt8]
    /// Each edge's name as text, for keys that are not plain ASCII.
    let edgeNames: [String]
    /// The parts of the path of each slot.
    let paths: [[String]]

    static let empty = make(paths: []).plan

    var slotCount: Int { paths.count }

    private init(_ b: Builder) {
        nodes = b.nodes
        edges = b.edges
        names = b.names
        edgeNames = b.edgeNames
        paths = b.paths
    }

    /// The plan for `paths` (each given as its parts), and the slot of each, in order. Equal paths
    /// share a slot; parts are compared as Swift strings compare, like the keys of a parsed object.
    static func make(paths: [[String]]) -> (plan: MQTTFieldPlan, slots: [Int]) {
        let b = Builder(paths: paths)
        return (MQTTFieldPlan(b), b.slotOfInput)
    }

    /// Looks `parts` up in a parsed tree: object members by key, array elements by index.
    static func lookup(_ parts: ArraySlice<String>, in root: JSONValue) -> JSONValue? {
        var node = root
        for part in parts {
            switch node {
            case .object(let o):
                guard let next = o[part] else { return nil }
                node = next
            case .array(let a):
                guard let i = Int(part), a.indices.contains(i) else { return nil }
                node = a[i]
            default: return nil
            }
        }
        return node
    }

    /// The fields of an already parsed payload (nil when it is not an object).
    func fields(from json: JSONValue) -> MQTTPayloadFields? {
        guard case .object = json else { return nil }
        var values = [JSONValue?](repeating: nil, count: slotCount)
        fill(0, from: json, into: &values)
        return MQTTPayloadFields(plan: self, values: values)
    }

    /// Scans a whole payload strictly, keeping the values at the plan's slots; nil values when it is
    /// valid JSON but not an object.
    func scan(_ payload: UnsafeBufferPointer<UInt8>, maxDepth: Int = 32) -> Result<MQTTPayloadFields?, MQTTPayloadSyntaxError> {
        MQTTPayloadScanner.document(payload, maxDepth: maxDepth) { p throws(MQTTPayloadSyntaxError) -> MQTTPayloadFields? in
            let isObject = p.i < payload.count && payload[p.i] == UInt8(ascii: "{")
            var values = [JSONValue?](repeating: nil, count: slotCount)
            try p.scan(self, node: 0, depth: 0, into: &values)
            return isObject ? MQTTPayloadFields(plan: self, values: values) : nil
        }
    }

    /// Sets the slots of node `n`'s paths from `value`, the value at that node.
    func fill(_ n: Int, from value: JSONValue, into values: inout [JSONValue?]) {
        var slots = nodes[n].slots
        if nodes[n].slot >= 0 {
            values[nodes[n].slot] = value  // the first slot of its range (depth-first numbering)
            slots = slots.dropFirst()
        }
        let level = nodes[n].level
        for s in slots { values[s] = Self.lookup(paths[s][level...], in: value) }
    }

    /// Forgets what node `n`'s paths had.
    func clear(_ n: Int, in values: inout [JSONValue?]) {
        for s in nodes[n].slots { values[s] = nil }
    }

    /// The edge of node `n` named by `key`: bytes compared when both are ASCII (length first), the
    /// key's text otherwise (escapes, non-ASCII: canonical equivalence, as a parsed object's keys).
    /// The search starts after `hint`, the edge the previous key matched: payloads of one kind of
    /// detector keep their key order, so the next key is mostly the next edge.
    func edge(from n: Int, key: MQTTPayloadScanner.StringSpan, in buf: UnsafeBufferPointer<UInt8>, hint: Int) -> Int? {
        let range = nodes[n].edges
        guard !range.isEmpty else { return nil }
        var text: String?
        let (head, tail) = key.isPlainASCII ? Self.words(buf, key.start..<key.end) : (0, 0)
        var e = hint + 1 < range.upperBound && hint >= range.lowerBound ? hint + 1 : range.lowerBound
        for _ in range {
            if key.isPlainASCII && edges[e].isASCII {
                if edges[e].head == head, edges[e].tail == tail, edges[e].bytes.count == key.count, key.count <= 16 || sameBytes(e, key, buf) {
                    return e
                }
            } else {
                if text == nil { text = MQTTPayloadScanner(buf: buf, maxDepth: 0).text(of: key) }
                if text == edgeNames[e] { return e }
            }
            e = e + 1 == range.upperBound ? range.lowerBound : e + 1
        }
        return nil
    }

    /// The bytes after the first 16 of edge `e`'s name and of `key` (same length) are equal.
    private func sameBytes(_ e: Int, _ key: MQTTPayloadScanner.StringSpan, _ buf: UnsafeBufferPointer<UInt8>) -> Bool {
        let base = edges[e].bytes.lowerBound
        for k in 16..<key.count where names[base + k] != buf[key.start + k] { return false }
        return true
    }

    /// The first 16 bytes of `range` as two little-endian words, zero beyond the range: a key of up
    /// to 16 bytes is matched by its length and two comparisons.
    static func words(_ b: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> (UInt64, UInt64) {
        let count = range.count
        if range.lowerBound + 16 <= b.count, let base = b.baseAddress {
            let raw = UnsafeRawPointer(base + range.lowerBound)
            let head = UInt64(littleEndian: raw.loadUnaligned(as: UInt64.self))
            let tail = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
            let headMask: UInt64 = count >= 8 ? ~0 : (1 << UInt64(8 * count)) &- 1
            let tailMask: UInt64 = count >= 16 ? ~0 : count <= 8 ? 0 : (1 << UInt64(8 * (count - 8))) &- 1
            return (head & headMask, tail & tailMask)
        }
        var head: UInt64 = 0, tail: UInt64 = 0
        for k in 0..<min(count, 16) {
            let byte = UInt64(b[range.lowerBound + k])
            if k < 8 { head |= byte << UInt64(8 * k) } else { tail |= byte << UInt64(8 * (k - 8)) }
        }
        return (head, tail)
    }

    /// The first edge of node `n` after `after` (exclusive) naming array element `index`.
    func edge(from n: Int, index: Int, after: Int = -1) -> Int? {
        guard index <= nodes[n].maxIndex else { return nil }
        for e in nodes[n].edges where e > after && edges[e].index == index { return e }
        return nil
    }

    /// Builds the trie, then lays it out depth first: each node's edges contiguous, slots numbered in
    /// walk order so the paths through a node are one range.
    private struct Builder {
        private var children: [[(name: String, node: Int)]] = [[]]
        private var ends: [Bool] = [false]
        private var slotOfTrieNode: [Int] = []
        var nodes: [Node] = []
        var edges: [Edge] = []
        var names: [UInt8] = []
        var edgeNames: [String] = []
        var paths: [[String]] = []
        var slotOfInput: [Int] = []

        init(paths input: [[String]]) {
            var leaves: [Int] = []
            for parts in input {
                var t = 0
                for part in parts {
                    if let next = children[t].first(where: { $0.name == part })?.node {
                        t = next
                    } else {
                        children.append([])
                        ends.append(false)
                        children[t].append((part, children.count - 1))
                        t = children.count - 1
                    }
                }
                ends[t] = true
                leaves.append(t)
            }
            slotOfTrieNode = [Int](repeating: -1, count: children.count)
            _ = layout(0, level: 0, path: [])
            slotOfInput = leaves.map { slotOfTrieNode[$0] }
        }

        /// Lays out trie node `t` and below; returns its index in `nodes`.
        private mutating func layout(_ t: Int, level: Int, path: [String]) -> Int {
            let n = nodes.count
            nodes.append(Node(slot: -1, slots: paths.count..<paths.count, edges: 0..<0, level: level, maxIndex: -1))
            if ends[t] {
                nodes[n].slot = paths.count
                slotOfTrieNode[t] = paths.count
                paths.append(path)
            }
            let first = edges.count
            for c in children[t] {
                let start = names.count
                names.append(contentsOf: c.name.utf8)
                let index = Int(c.name).flatMap { $0 >= 0 ? $0 : nil }
                nodes[n].maxIndex = max(nodes[n].maxIndex, index ?? -1)
                let (head, tail) = Array(c.name.utf8).withUnsafeBufferPointer { MQTTFieldPlan.words($0, 0..<$0.count) }
                edgeNames.append(c.name)
                edges.append(Edge(bytes: start..<names.count, head: head, tail: tail,
                                  isASCII: c.name.utf8.allSatisfy { $0 < 0x80 }, index: index, node: -1))
            }
            nodes[n].edges = first..<edges.count
            for (k, c) in children[t].enumerated() {
                edges[first + k].node = layout(c.node, level: level + 1, path: path + [c.name])
            }
            nodes[n].slots = nodes[n].slots.lowerBound..<paths.count
            return n
        }
    }
}

extension MQTTPayloadScanner {
    /// Scans the value at `i`, which is at plan node `n`, into the slots of the paths through it.
    /// `depth` is the nesting level of the value, as in `value(depth:)`.
    mutating func scan(_ plan: MQTTFieldPlan, node n: Int, depth: Int, into values: inout [JSONValue?]) throws(Failure) {
        let node = plan.nodes[n]
        if node.slot >= 0 {
            // A path ends here: keep the whole value; paths that go deeper are looked up in it.
            let v = try value(depth: depth)
            if node.slots.count == 1 { values[node.slot] = v } else { plan.fill(n, from: v, into: &values) }
            return
        }
        switch try valueStart() {
        case UInt8(ascii: "{") where !node.edges.isEmpty:
            var hint = -1
            try members(depth: depth + 1) { p, key throws(Failure) in
                guard let e = plan.edge(from: n, key: key, in: p.buf, hint: hint) else { return try p.skipValue(depth: depth + 1) }
                hint = e
                let child = plan.edges[e].node
                // A repeated key replaces what the earlier one gave (a leaf's `fill` sets all its slots).
                if plan.nodes[child].slot < 0 { plan.clear(child, in: &values) }
                try p.scan(plan, node: child, depth: depth + 1, into: &values)
            }
        case UInt8(ascii: "[") where node.maxIndex >= 0:
            try elements(depth: depth + 1) { p, k throws(Failure) in
                guard let first = plan.edge(from: n, index: k) else { return try p.skipValue(depth: depth + 1) }
                guard plan.edge(from: n, index: k, after: first) != nil else {
                    return try p.scan(plan, node: plan.edges[first].node, depth: depth + 1, into: &values)
                }
                // Several parts name this element ("1", "01"): read it once, look each up in it.
                let element = try p.value(depth: depth + 1)
                var e: Int? = first
                while let edge = e {
                    plan.fill(plan.edges[edge].node, from: element, into: &values)
                    e = plan.edge(from: n, index: k, after: edge)
                }
            }
        default:
            try skipValue(depth: depth)
        }
    }
}
