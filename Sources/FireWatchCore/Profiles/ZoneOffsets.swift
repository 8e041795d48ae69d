import Foundation
import Synchronization

/// `TimeZone.secondsFromGMT(for:)` that remembers the span of its last answer: a zone's offset changes
/// only at its transitions, and the lookup (ICU) costs more than the rest of decoding a payload.
final class ZoneOffsets: Sendable {
    let zone: TimeZone
    private struct Span {
        var from: Double
        var until: Double
        var offset: Int
    }
    private let span = Mutex<Span?>(nil)

    init(_ zone: TimeZone) { self.zone = zone }

    /// The zone's offset from UTC at `t` (seconds since 1970), in seconds.
    func secondsFromGMT(at t: Double) -> Int {
        if let s = span.withLock({ $0 }), t >= s.from, t < s.until { return s.offset }
        let offset = zone.secondsFromGMT(for: Date(timeIntervalSince1970: t))
        // Valid from the last transition at or before `t` (looking back at most a year) to the next one.
        var from = t - 366 * 86_400
        while let next = zone.nextDaylightSavingTimeTransition(after: Date(timeIntervalSince1970: from))?.timeIntervalSince1970,
              next <= t {
            from = next
        }
        let until = zone.nextDaylightSavingTimeTransition(after: Date(timeIntervalSince1970: t))?.timeIntervalSince1970 ?? .infinity
        span.withLock { $0 = Span(from: from, until: until, offset: offset) }
        return offset
    }
}
