/// What `swiftmta check server` found: one line per probe and a summary, as text or JSON.
struct ServerCheckReport: Sendable {
    /// The address probed (`192.0.2.25:25`).
    let target: String
    /// HOST as given.
    let host: String
    /// The name in the greeting.
    let serverName: String
    let source: String?
    let results: [ProbeResult]

    func count(_ status: ProbeResult.Status) -> Int {
        results.filter { $0.status == status }.count
    }

    var summary: String {
        "\(results.count) probes: \(count(.pass)) pass, \(count(.fail)) FAIL, \(count(.warn)) warn, \(count(.skip)) skipped"
    }

    /// `STATUS  category name: evidence`, one line per probe, after a heading; the summary last.
    var text: String {
        var lines = ["swiftmta check server \(host) (\(target), greeting \(serverName))\(source.map { " from \($0)" } ?? "")"]
        for result in results {
            let status = result.status.rawValue.padding(toLength: 4)
            lines.append("\(status)  \(result.category) \(result.name): \(result.evidence)")
        }
        lines.append("summary: \(summary)")
        return lines.joined(separator: "\n") + "\n"
    }

    var json: String {
        JSONValue.object([
            ("server", .string(host)),
            ("address", .string(target)),
            ("greeting_name", .string(serverName)),
            ("from", source.map(JSONValue.string) ?? .null),
            ("probes", .array(results.map { result in
                .object([
                    ("category", .string(result.category)),
                    ("name", .string(result.name)),
                    ("status", .string(result.status == .fail ? "fail" : result.status.rawValue)),
                    ("evidence", .string(result.evidence)),
                ])
            })),
            ("summary", .object([
                ("probes", .number(results.count)),
                ("pass", .number(count(.pass))),
                ("fail", .number(count(.fail))),
                ("warn", .number(count(.warn))),
                ("skip", .number(count(.skip))),
            ])),
        ]).rendered + "\n"
    }
}

extension String {
    fileprivate func padding(toLength length: Int) -> String {
        count >= length ? self : self + String(repeating: " ", count: length - count)
    }
}
