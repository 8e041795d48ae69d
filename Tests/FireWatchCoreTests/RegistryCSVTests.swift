import FireWatchCore
import Foundation
import Testing

@Suite("Registry CSV and encodings")
struct RegistryCSVTests {
    @Test("RFC 4180: quoted commas, doubled quotes, line breaks inside quotes, CRLF, blank lines")
    func rfc4180() {
        let text = "a,b,c\r\n\"x, y\",\"say \"\"hi\"\"\",\"two\nlines\"\r\n\r\nlast,,\n"
        let (records, problems) = CSVReader.parse(text)
        #expect(problems.isEmpty)
        #expect(records.map(\.fields) == [["a", "b", "c"], ["x, y", "say \"hi\"", "two\nlines"], ["last", "", ""]])
        #expect(records.map(\.line) == [1, 2, 5])
    }

    @Test("text after a closing quote rejects that record only; an unclosed quote is reported where it opened")
    func brokenQuotes() {
        let (records, problems) = CSVReader.parse("h1,h2\n\"a\"b,c\nok,1\n\"never closed,2\n")
        #expect(records.map(\.fields) == [["h1", "h2"], ["ok", "1"]])
        #expect(problems.map(\.line) == [2, 4])
    }

    @Test("escape and line round-trip through the reader")
    func roundTrip() {
        let fields = ["plain", "with,comma", "with \"quote\"", "multi\nline", ""]
        let (records, _) = CSVReader.parse(CSVReader.line(fields))
        #expect(records.first?.fields == fields)
    }

    @Test("GBK bytes (and a 4-byte GB18030 sequence) are detected and decoded")
    func gbk() {
        // "市场档口,五金店\n" in GBK, then U+20000 in GB18030's four-byte form.
        let bytes: [UInt8] = [202, 208, 179, 161, 181, 181, 191, 218, 44, 206, 229, 189, 240, 181, 234, 10, 149, 50, 130, 54]
        let d = RegistryTextDecoder.decode(Data(bytes))
        #expect(d.encoding == .gb18030)
        #expect(d.text == "市场档口,五金店\n\u{20000}")
        #expect(d.undecodableLines.isEmpty)
    }

    @Test("UTF-8 with and without BOM; the BOM does not end up in the first header")
    func utf8() {
        let plain = RegistryTextDecoder.decode(Data("名称\n".utf8))
        #expect(plain.encoding == .utf8 && plain.text == "名称\n")
        let bom = RegistryTextDecoder.decode(Data([0xEF, 0xBB, 0xBF] + Array("名称\n".utf8)))
        #expect(bom.encoding == .utf8BOM && bom.text == "名称\n")
    }

    @Test("a UTF-8 file with one damaged line stays UTF-8 and reports that line")
    func damagedUTF8() {
        var bytes = Array("平台编号,名称\nP1,五金店\nP2,".utf8) + [0xFF, 0xFE] + Array("\nP3,灯具店\n".utf8)
        bytes += Array("P4,电器店\n".utf8)
        let d = RegistryTextDecoder.decode(Data(bytes))
        #expect(d.encoding == .utf8)
        #expect(d.undecodableLines == [3])
        #expect(d.text.contains("灯具店"))
    }

    static let header = "平台编号,二维码,名称,类型,地址,社区,网格,市场,负责人,电话,状态\n"

    @Test("Chinese headers, Chinese kind and status labels map onto the premises record")
    func chineseHeaders() throws {
        let text = Self.header + "P1,QR1,陈记五金,市场档口,海北路1号,白沙社区,第3网格,fc-wujin,陈明,13800000001,正常\n"
            + "P2,QR2,出租屋甲,出租屋,,,,,,,注销\n"
        let parsed = try PremisesCSV.parse(DecodedRegistryText(text: text, encoding: .utf8, undecodableLines: []))
        #expect(parsed.rejections.isEmpty)
        #expect(parsed.rows.count == 2)
        let p = parsed.rows[0].premises
        #expect(p == Premises(platformID: "P1", qrCode: "QR1", name: "陈记五金", kind: .marketStall, address: "海北路1号",
                              community: "白沙社区", grid: "第3网格", marketID: "fc-wujin", ownerName: "陈明",
                              ownerPhone: "13800000001", status: .active))
        #expect(parsed.rows[1].premises.kind == .rentalBuilding && parsed.rows[1].premises.status == .closed)
    }

    @Test("English headers in any order; unknown columns are listed, not fatal")
    func englishHeaders() throws {
        let text = "name,platform_id,qr_code,remark\n五金店,P9,QR9,x\n"
        let parsed = try PremisesCSV.parse(DecodedRegistryText(text: text, encoding: .utf8, undecodableLines: []))
        #expect(parsed.rows.first?.premises.platformID == "P9")
        #expect(parsed.rows.first?.premises.kind == .other)
        #expect(parsed.ignoredColumns == ["remark"])
    }

    @Test("a header without the required columns is a file error naming them")
    func missingColumns() {
        #expect(throws: PremisesCSVFileError.self) {
            try PremisesCSV.parse(DecodedRegistryText(text: "名称,地址\nx,y\n", encoding: .utf8, undecodableLines: []))
        }
    }

    @Test("malformed rows and duplicates are rejected with their line and a reason")
    func rejections() throws {
        let text = Self.header
            + "P1,QR1,好店,市场档口,,,,,,,\n"        // 2 ok
            + ",QR2,无编号,,,,,,,,\n"                 // 3 no id
            + "P3,,无二维码,,,,,,,,\n"                // 4 no QR
            + "P4,QR4,,,,,,,,,\n"                     // 5 no name
            + "P5,QR5,怪类型,飞船,,,,,,,\n"            // 6 kind
            + "P6,QR6,状态怪,,,,,,,,半开\n"            // 7 status
            + "P7,QR7,电话怪,,,,,,,call me,\n"         // 8 phone
            + "P1,QR8,重复编号,,,,,,,,\n"              // 9 duplicate id
            + "P9,QR1,重复二维码,,,,,,,,\n"            // 10 duplicate QR
            + "P10,QR10,多一列,,,,,,,,,extra\n"         // 11 too many fields
            + "P11,QR11,\"引号\"坏,,,,,,,,\n"          // 12 broken quoting
        let parsed = try PremisesCSV.parse(DecodedRegistryText(text: text, encoding: .utf8, undecodableLines: []))
        #expect(parsed.rows.map(\.premises.platformID) == ["P1"])
        #expect(parsed.rejections.map(\.line) == Array(3...12))
        #expect(parsed.rejections.first { $0.line == 9 }?.reason.contains("line 2") == true)
        #expect(parsed.rejections.first { $0.line == 6 }?.reason.contains("飞船") == true)
    }

    @Test("export writes a BOM and Chinese headers and reads back to the same records")
    func exportRoundTrip() throws {
        let list = [Premises(platformID: "P1", qrCode: "QR1", name: "陈记, \"五金\"", kind: .marketStall, address: "海北路\n1号",
                             marketID: "m", ownerPhone: "138", status: .closed)]
        let csv = PremisesCSV.export(list)
        let decoded = RegistryTextDecoder.decode(Data(csv.utf8))
        #expect(decoded.encoding == .utf8BOM)
        let parsed = try PremisesCSV.parse(decoded)
        #expect(parsed.rows.map(\.premises) == list)
    }
}
