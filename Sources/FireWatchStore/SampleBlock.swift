import FireWatchCore

/// One device's samples of one archive flush, as one `sample_blocks` row (readings schema 3,
/// docs/edge-config.md): the channel names once, in `columns`, then one line per sample with its
/// time and a value per column.
///
/// One row per device per flush instead of one per sample: at a normal market's rate (a message per
/// detector every minute or more) a block holds one sample and costs what a `samples` row did; in a
/// burst or a backlog (a broker replaying a 4G backlog, 200 messages per detector per second) the
/// row insert, its index entry and the channel names are paid once per block, not per sample.
///
/// Text, so `sqlite3` alone can read an archive: `columns` is `residual_current.1;temperature.1;…`,
/// `samples` is lines `time;value;value;…` joined by `\n`. A value is a number in the channel's
/// canonical unit, a state name, `invalid`, or empty when the sample has no reading for that column;
/// a line may stop before the last columns (channels that first appeared in a later sample).
struct SampleBlockBuilder {
    let device: String
    private(set) var columns: [String] = []
    /// `columns` joined by `;`, grown as columns are added.
    private(set) var columnText: [UInt8] = []
    private(set) var lines: [UInt8] = []
    private(set) var count = 0
    private(set) var first = 0.0
    private(set) var last = 0.0
    /// `usedIn[c] == stamp`: column c already holds a value of the sample being written (a channel
    /// twice in one sample gets a second column of that name, so nothing is lost).
    private var usedIn: [Int] = []
    private var stamp = 0
    private var placed: [(column: Int, reading: Int)] = []

    init(device: String) {
        self.device = device
    }

    var isEmpty: Bool { count == 0 }
    var byteCount: Int { lines.count + columnText.count }

    /// Appends one sample: readings of this device at one time.
    mutating func append(time: Double, _ readings: ArraySlice<Reading>) {
        if count == 0 { first = time }
        last = time
        count += 1
        stamp += 1
        placed.removeAll(keepingCapacity: true)
        // Readings of one device normally arrive in the same channel order every time: expect the
        // column after the previous one before searching.
        var expected = 0
        var ordered = true
        for i in readings.indices {
            let name = readings[i].channel.name
            let column: Int
            if expected < columns.count, usedIn[expected] != stamp, columns[expected] == name {
                column = expected
            } else if let c = columns.indices.first(where: { usedIn[$0] != stamp && columns[$0] == name }) {
                column = c
            } else {
                column = addColumn(name)
            }
            usedIn[column] = stamp
            if let previous = placed.last, previous.column > column { ordered = false }
            placed.append((column, i))
            expected = column + 1
        }
        if !ordered { placed.sort { $0.column < $1.column } }

        if !lines.isEmpty { lines.append(UInt8(ascii: "\n")) }
        ReadingArchive.appendNumber(time, to: &lines)
        var at = -1
        for (column, i) in placed {
            while at < column {
                lines.append(UInt8(ascii: ";"))
                at += 1
            }
            Self.appendValue(readings[i].value, to: &lines)
        }
    }

    private mutating func addColumn(_ name: String) -> Int {
        if !columns.isEmpty { columnText.append(UInt8(ascii: ";")) }
        var name = name
        name.withUTF8 { columnText.append(contentsOf: $0) }
        columns.append(name)
        usedIn.append(0)
        return columns.count - 1
    }

    /// Empties the builder for the next block, keeping its buffers.
    mutating func reset() {
        columns.removeAll(keepingCapacity: true)
        columnText.removeAll(keepingCapacity: true)
        lines.removeAll(keepingCapacity: true)
        usedIn.removeAll(keepingCapacity: true)
        count = 0
    }

    static func appendValue(_ value: Reading.Value, to out: inout [UInt8]) {
        switch value {
        case .number(let v):
            ReadingArchive.appendNumber(v, to: &out)
        case .state(let st):
            var s = st.rawValue
            s.withUTF8 { out.append(contentsOf: $0) }
        case .invalid:
            out.append(contentsOf: "invalid".utf8)
        }
    }
}

/// One archived sample read back: the readings one poll or message gave for one device at one time.
public struct ArchivedSample: Sendable, Equatable {
    public var device: String
    public var time: Double
    /// Channel name and value as archived: a number in the channel's unit, a state name, or `invalid`.
    public var values: [(channel: String, value: String)]

    public init(device: String, time: Double, values: [(channel: String, value: String)]) {
        self.device = device
        self.time = time
        self.values = values
    }

    /// `channel=value` pairs joined by `;` (the format of the older `samples` table).
    public var packed: String { values.map { "\($0.channel)=\($0.value)" }.joined(separator: ";") }

    public static func == (a: ArchivedSample, b: ArchivedSample) -> Bool {
        a.device == b.device && a.time == b.time && a.values.elementsEqual(b.values) { $0 == $1 }
    }

    /// The samples of one `sample_blocks` row; nil when the row is not in the block format.
    static func unpack(device: String, columns: String, samples: String) -> [ArchivedSample]? {
        let names = columns.split(separator: ";", omittingEmptySubsequences: false).map(String.init)
        var out: [ArchivedSample] = []
        for line in samples.split(separator: "\n") {
            let fields = line.split(separator: ";", omittingEmptySubsequences: false)
            guard let time = Double(fields[0]), fields.count - 1 <= names.count else { return nil }
            var values: [(channel: String, value: String)] = []
            for (k, field) in fields.dropFirst().enumerated() where !field.isEmpty {
                values.append((names[k], String(field)))
            }
            out.append(ArchivedSample(device: device, time: time, values: values))
        }
        return out
    }

    /// A row of the older `samples` table (`channel=value;…`); nil when malformed.
    static func unpack(device: String, time: Double, packed: String) -> ArchivedSample? {
        var values: [(channel: String, value: String)] = []
        for pair in packed.split(separator: ";") {
            guard let eq = pair.firstIndex(of: "=") else { return nil }
            values.append((String(pair[..<eq]), String(pair[pair.index(after: eq)...])))
        }
        return ArchivedSample(device: device, time: time, values: values)
    }
}
