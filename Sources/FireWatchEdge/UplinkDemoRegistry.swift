import FireWatchCore
import FireWatchStore

extension DemoMarket {
    /// Registers the demo market, `stalls` premises and their detectors (`deviceID(n)`) in a governance
    /// store: the office side of the two-box example (deploy/examples) and the ingest benchmark.
    public static func seed(into store: any GovernanceStore, stalls: Int, now: Double) throws {
        try store.upsertMarket(market, now: now)
        for (i, p) in premises(count: stalls).enumerated() {
            _ = try store.upsertPremises(p, now: now)
            let id = deviceID(i + 1)
            if try store.device(id: id) == nil {
                try store.saveDevice(Device(id: id, profileID: "generic-1r4t", premisesID: p.platformID, marketID: market.id,
                                            location: "\(p.name) 末端配电箱", transport: .mqtt(deviceID: id),
                                            setpoints: ["residual_current.1": 300], cable: .pvc),
                                     action: "registered", actor: "seed-demo", detail: "demo market registry", now: now)
            }
        }
    }
}
