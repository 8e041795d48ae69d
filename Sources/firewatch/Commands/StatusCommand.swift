import FireWatchEdge
import Foundation

extension Commands {
    static let status = CommandSpec(
        name: "status", abstract: "show a running (or stopped) edge's counters: failing devices, rejected payloads, quarantined ids",
        options: [.value("--data", "DIR", help: "the edge's data directory", required: true), CommonOptions.json],
        run: { args in
            let dir = try args.require("--data")
            let status: EdgeStatus
            do { status = try EdgeStatus.load(dataDirectory: dir) } catch {
                throw CommandFailure("no status in \(dir)/status.json: is an edge running with --data \(dir)? (\(error.localizedDescription))")
            }
            if args.has("--json") { print(Output.jsonLine(status)); return ExitStatus.ok }
            let age = Date().timeIntervalSince1970 - status.updatedAt
            for line in status.lines { print(line) }
            print("updated \(Output.local(status.updatedAt))" + (age > 10 ? " (\(Int(age)) s ago: the edge may not be running)" : ""))
            return ExitStatus.ok
        })
}
