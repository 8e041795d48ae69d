import FireWatchCore
import Foundation

/// A small simulated specialised market for `firewatch demo` and tests: stalls with Chinese names,
/// addresses and QR codes, one detector each. Names and numbers are invented.
public enum DemoMarket {
    public static let market = Market(id: "dali-fc-wujin", name: "大沥凤池五金电器批发市场",
                                      address: "佛山市南海区大沥镇凤池大道88号", community: "凤池社区")

    static let trades = ["五金", "电线电缆", "灯饰", "开关插座", "电器", "水暖", "工具", "布艺", "日杂", "配电箱",
                         "电机", "照明", "空调配件", "线材", "锁具"]
    static let surnames = ["陈", "李", "黄", "梁", "何", "罗", "冯", "邓", "谭", "区", "麦", "潘", "张", "吴", "林"]
    static let given = ["志强", "惠芳", "国明", "少玲", "伟雄", "丽珍", "家豪", "美娟", "锦荣", "秀英", "浩然", "嘉欣"]

    /// `count` premises: market stalls (and every tenth a shop unit), in zones A, B, C.
    public static func premises(count: Int) -> [Premises] {
        (1...max(count, 1)).map { i in
            let zone = ["A", "B", "C"][(i - 1) / 12 % 3]
            let stall = String(format: "%02d", (i - 1) % 12 + 1)
            let owner = surnames[i % surnames.count] + given[(i * 7) % given.count]
            let trade = trades[(i * 5) % trades.count]
            let kind: Premises.Kind = i % 10 == 0 ? .businessUnit : .marketStall
            return Premises(
                platformID: String(format: "440605-DL-%06d", 1000 + i),
                qrCode: String(format: "NHDL%08d", 52_000 + i),
                name: "\(zone)区\(stall)号 \(owner.prefix(1))记\(trade)" + (kind == .businessUnit ? "商行" : "档"),
                kind: kind,
                address: "\(market.address)\(zone)区\(stall)号",
                community: market.community,
                grid: "凤池第\((i - 1) / 10 + 1)网格",
                marketID: market.id,
                ownerName: owner,
                ownerPhone: String(format: "1392%07d", 1_000_000 + i * 37),
                status: .active)
        }
    }

    /// The detector id of the n-th stall (1-based).
    public static func deviceID(_ n: Int) -> String { String(format: "FC-ARCM-%03d", n) }
}
