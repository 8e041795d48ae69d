import Foundation

/// The commissioning report as one printable HTML page (Chinese, A4 print stylesheet, no scripts,
/// no outside resources).
public enum CommissionReportHTML {
    public static func render(_ r: CommissionReport, localTime: String) -> String {
        func esc(_ s: String) -> String {
            s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
                .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
        }
        let fmt = RegistrationPolicy.fmt
        var rows = ""
        for v in r.values {
            rows += "<tr><td>\(esc(v.channel))</td><td class=num>\(v.value.map(fmt) ?? "—")</td><td>\(esc(v.unit))</td>"
                + "<td>\(esc(DetectorState(rawValue: v.state)?.label ?? v.state))</td></tr>\n"
        }
        var checks = ""
        for c in r.checks {
            let (mark, cls) = switch c.passed { case true?: ("合格", "ok"); case false?: ("不合格", "bad"); case nil: ("不适用", "na") }
            checks += "<tr class=\(cls)><td>\(esc(c.title))</td><td>\(esc(c.detail))</td><td class=mark>\(mark)</td>"
                + "<td>\(esc(c.fix ?? ""))</td></tr>\n"
        }
        let setpoints = r.device.setpoints.sorted { $0.key < $1.key }.map { "\(esc($0.key)) = \(fmt($0.value))" }.joined(separator: "，")
        let alarm = r.testAlarm.map { t in
            "\(t.confirmed ? "已送达" : "未确认")（\(t.route == "edge" ? "经边缘网关上报至消防办公室" : "写入本地治理数据库")，"
                + "编号 \(esc(t.edge))/\(t.sequence)）\(esc(t.detail))"
        } ?? "未发送"
        return """
        <!DOCTYPE html>
        <html lang="zh-CN">
        <head>
        <meta charset="utf-8">
        <title>电气火灾探测器调试报告 \(esc(r.device.id))</title>
        <style>
          body { font-family: "Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", sans-serif; margin: 2em; color: #111; }
          h1 { font-size: 1.5em; margin-bottom: 0.2em; }
          .verdict { font-size: 1.3em; font-weight: bold; padding: 0.4em 0.8em; display: inline-block; border: 2px solid; }
          .verdict.ok { color: #126b2f; } .verdict.bad { color: #a40000; }
          table { border-collapse: collapse; width: 100%; margin: 0.8em 0 1.2em; }
          th, td { border: 1px solid #999; padding: 0.3em 0.5em; text-align: left; vertical-align: top; }
          th { background: #eee; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
          tr.bad td.mark { color: #a40000; font-weight: bold; } tr.ok td.mark { color: #126b2f; } tr.na td.mark { color: #666; }
          dl { display: grid; grid-template-columns: max-content auto; gap: 0.2em 1em; }
          dt { font-weight: bold; }
          .sign { margin-top: 3em; display: flex; gap: 4em; }
          @media print {
            body { margin: 0; font-size: 10.5pt; }
            @page { size: A4; margin: 15mm; }
            tr { break-inside: avoid; }
            th { background: #eee !important; -webkit-print-color-adjust: exact; print-color-adjust: exact; }
          }
        </style>
        </head>
        <body>
        <h1>电气火灾探测器调试报告</h1>
        <p class="verdict \(r.passed ? "ok" : "bad")">\(r.passed ? "调试合格" : "调试不合格：设备保持“已登记未调试”状态")</p>
        <dl>
          <dt>场所</dt><dd>\(esc(r.premises.name))（平台编号 \(esc(r.premises.platformID))，二维码 \(esc(r.premises.qrCode))）</dd>
          <dt>地址</dt><dd>\(esc(r.premises.address))</dd>
          <dt>探测器</dt><dd>\(esc(r.device.id))，型号 \(esc(r.device.profile))</dd>
          <dt>安装位置</dt><dd>\(esc(r.device.location))</dd>
          <dt>通信地址</dt><dd>\(esc(r.device.transport))</dd>
          <dt>电缆</dt><dd>\(esc(r.device.cable?.uppercased() ?? "未登记"))</dd>
          <dt>登记设定值</dt><dd>\(setpoints.isEmpty ? "无" : setpoints)</dd>
          <dt>调试人</dt><dd>\(esc(r.by))</dd>
          <dt>调试时间</dt><dd>\(esc(localTime))</dd>
          <dt>测试报警</dt><dd>\(alarm)</dd>
        </dl>
        <h2>实时读数</h2>
        <table>
        <tr><th>通道</th><th>数值</th><th>单位</th><th>状态</th></tr>
        \(rows)</table>
        <h2>检查项目</h2>
        <table>
        <tr><th>项目</th><th>实测</th><th>结果</th><th>整改建议</th></tr>
        \(checks)</table>
        <div class="sign"><span>调试人签字：__________</span><span>场所负责人签字：__________</span></div>
        </body>
        </html>

        """
    }
}
