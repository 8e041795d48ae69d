import Foundation
import Testing
@testable import FireWatchCore

@Suite("zone offsets remembered between transitions")
struct ZoneOffsetsTests {
    @Test("the remembered offset equals the zone's own answer, in and out of order, across DST and historic changes",
          arguments: ["America/New_York", "Europe/London", "Australia/Lord_Howe", "Asia/Shanghai", "Asia/Kathmandu"])
    func matchesZone(_ id: String) throws {
        let zone = try #require(TimeZone(identifier: id))
        let cache = ZoneOffsets(zone)
        // Around 2026's transitions (March/April and October/November), China's 1986–1991 DST, and now.
        var times: [Double] = []
        for start in [1_772_000_000.0, 1_774_500_000, 1_775_000_000, 1_791_000_000, 1_793_500_000, 1_794_000_000, 514_000_000, 1_796_000_000] {
            for k in 0..<200 { times.append(start + Double(k) * 900) }   // every 15 min over two days
        }
        var rng = SystemRandomNumberGenerator()
        let shuffled = times.shuffled(using: &rng)
        for t in times + shuffled {
            #expect(cache.secondsFromGMT(at: t) == zone.secondsFromGMT(for: Date(timeIntervalSince1970: t)), "\(id) at \(t)")
        }
    }

    @Test("local payload times parse the same through the remembered offsets")
    func localTimes() throws {
        let ny = try #require(TimeZone(identifier: "America/New_York"))
        let sh = try #require(TimeZone(identifier: "Asia/Shanghai"))
        // 2026-03-08 01:59:59 EST → 06:59:59Z; 03:00:00 EDT → 07:00:00Z.
        #expect(MQTTProfile.parseLocalTime("2026-03-08 01:59:59", in: ny) == 1_772_953_199)
        #expect(MQTTProfile.parseLocalTime("2026-03-08 03:00:00", in: ny) == 1_772_953_200)
        let shared = ZoneOffsets(sh)
        #expect(MQTTProfile.parseLocalTime("2026-12-04 08:00:00", offsets: shared) == 1_796_342_400)
        #expect(MQTTProfile.parseLocalTime("1988-07-01 12:00:00", offsets: shared) == 583_729_200)  // CDT, UTC+9
        #expect(MQTTProfile.parseLocalTime("2026-12-04 08:00:00", offsets: shared) == 1_796_342_400)
    }
}
