import MailRouting

/// The fuzz targets: each takes arbitrary bytes and must neither crash, hang, nor grow memory
/// without bound. Selected by name (`SWIFTMTA_FUZZ_TARGET` when fuzzing, the first argument when
/// replaying files).
enum FuzzTargets {
    static let all: [String: @Sendable (UnsafeRawBufferPointer) -> Void] = [
        "address": address,
        "list": list,
    ]

    /// What an administrator types, or a `To:` header holds: RFC 5322 mailboxes with display
    /// names, comments, nested brackets, routes and trailing dots. What parses prints as an
    /// address that parses again to itself.
    static func address(_ bytes: UnsafeRawBufferPointer) {
        let text = String(decoding: bytes, as: UTF8.self)
        guard let parsed = try? RoutingAddress(parsing: text) else { return }
        _ = parsed.unquotedLocalPart
        _ = parsed.plusDetail
        guard parsed.domain != nil, parsed.sourceRoute.isEmpty else { return }
        guard let again = try? RoutingAddress(parsing: parsed.description) else {
            preconditionFailure("\(parsed) (from \(text.debugDescription)) does not parse again")
        }
        precondition(again.description == parsed.description, "\(parsed) parses again as \(again)")
    }

    /// `To:`, `Cc:` and `Bcc:` address lists, with groups.
    static func list(_ bytes: UnsafeRawBufferPointer) {
        let text = String(decoding: bytes, as: UTF8.self)
        guard let addresses = try? RoutingAddress.list(parsing: text) else { return }
        precondition(addresses.count <= text.utf8.count + 1, "more addresses than characters")
    }
}
