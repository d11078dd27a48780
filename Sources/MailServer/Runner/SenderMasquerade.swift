import MailRouting
import NIOCore
import SMTPProtocol

/// Masquerading on the way out (Sendmail's MASQUERADE_AS, FEATURE(masquerade_envelope),
/// MASQUERADE_DOMAIN, EXPOSED_USER): the envelope sender and the sender headers of a message for a
/// network mailer, rewritten by MailRouting's ``Router/masquerade(_:envelope:)`` — an address of
/// this host or of a masqueraded domain takes the masquerade domain, a bare local name is
/// qualified. Local delivery sees the message as it came.
///
/// It applies when MASQUERADE_AS is set, and to every local submission (whose bare names are
/// qualified); other messages pass unchanged.
struct SenderMasquerade: Sendable {
    /// The envelope sender for network mailers.
    var reversePath: ReversePath
    /// The rewritten header and the length of the header it replaces, when anything changed.
    var header: Header?

    struct Header: Sendable {
        var replacement: ByteBuffer
        var originalLength: Int
    }

    /// Nothing rewritten.
    static func unchanged(_ path: ReversePath) -> SenderMasquerade {
        SenderMasquerade(reversePath: path, header: nil)
    }

    /// `text` (the whole message) with its header replaced.
    func rewrite(_ text: ByteBuffer) -> ByteBuffer {
        guard let header else { return text }
        var result = ByteBufferAllocator().buffer(capacity: text.readableBytes - header.originalLength + header.replacement.readableBytes)
        result.writeImmutableBuffer(header.replacement)
        var rest = text
        rest.moveReaderIndex(forwardBy: min(header.originalLength, rest.readableBytes))
        result.writeImmutableBuffer(rest)
        return result
    }

    /// The header fields whose addresses are senders (Sendmail's H_FROM headers).
    static let senderFields: Set<String> = ["from", "sender", "reply-to", "resent-from", "resent-sender", "resent-reply-to", "errors-to"]

    /// The longest header read for rewriting; a longer one is left as it is.
    static let headerLimit = 256 << 10

    /// The header of `text`, up to and including the empty line that ends it; `nil` when there is
    /// none within the limit.
    static func headerLength(_ bytes: [UInt8]) -> Int? {
        if bytes.starts(with: [13, 10]) { return 2 }
        guard bytes.count >= 4 else { return nil }
        for index in 0...(bytes.count - 4) where bytes[index] == 13 && bytes[index + 1] == 10 && bytes[index + 2] == 13 && bytes[index + 3] == 10 {
            return index + 4
        }
        return nil
    }

    /// Rewrites the sender fields of `header` (CRLF lines, ending with the empty line) with
    /// `masquerade`, which gives the new form of an address or `nil` to keep it. `nil` when nothing
    /// changed.
    static func rewriteHeader(_ header: String, masquerade: (String) -> String?) -> String? {
        var fields: [String] = []
        for line in header.split(separator: "\r\n", omittingEmptySubsequences: false).map(String.init) {
            if let first = line.first, first == " " || first == "\t", !fields.isEmpty {
                fields[fields.count - 1] += "\r\n" + line
            } else {
                fields.append(line)
            }
        }
        var changed = false
        for (position, field) in fields.enumerated() {
            guard let colon = field.firstIndex(of: ":") else { continue }
            let name = field[..<colon].trimmingCharacters(in: " \t").lowercased()
            guard senderFields.contains(name) else { continue }
            let value = String(field[field.index(after: colon)...])
            if let rewritten = rewriteAddresses(value, masquerade: masquerade) {
                fields[position] = String(field[...colon]) + rewritten
                changed = true
            }
        }
        return changed ? fields.joined(separator: "\r\n") : nil
    }

    /// The addresses of an address-list value (RFC 5322 §3.4) rewritten in place: an angle-addr's
    /// inside, or a bare addr-spec; display names, comments and spacing kept.
    static func rewriteAddresses(_ value: String, masquerade: (String) -> String?) -> String? {
        let characters = Array(value)
        var spans: [Range<Int>] = []
        var itemStart = 0
        var depth = 0
        var quoted = false
        var escaped = false
        var angleOpen: Int?
        var sawAngle = false
        var colonGroup = false
        func bareSpan(_ range: Range<Int>) -> Range<Int>? {
            // The item without comments and surrounding white space, when that is one word.
            var start = range.lowerBound
            var end = range.upperBound
            var commentDepth = 0
            var plain: [Int] = []
            for index in range {
                let character = characters[index]
                if character == "(" { commentDepth += 1; continue }
                if character == ")", commentDepth > 0 { commentDepth -= 1; continue }
                if commentDepth == 0, !character.isWhitespace { plain.append(index) }
            }
            guard let first = plain.first, let last = plain.last else { return nil }
            start = first
            end = last + 1
            guard plain.count == end - start else { return nil }
            return start..<end
        }
        for (index, character) in characters.enumerated() {
            if escaped { escaped = false; continue }
            if character == "\\", quoted || depth > 0 { escaped = true; continue }
            if quoted {
                if character == "\"" { quoted = false }
                continue
            }
            if depth > 0 {
                if character == "(" { depth += 1 }
                if character == ")" { depth -= 1 }
                continue
            }
            switch character {
            case "\"": quoted = true
            case "(": depth = 1
            case "<":
                angleOpen = index + 1
                sawAngle = true
            case ">":
                if let open = angleOpen { spans.append(open..<index) }
                angleOpen = nil
            case ":" where angleOpen == nil && !sawAngle && !colonGroup:
                // A group's display name (`Team: a@b, c@d;`).
                colonGroup = true
                itemStart = index + 1
            case ",", ";":
                if angleOpen == nil {
                    if !sawAngle, let span = bareSpan(itemStart..<index) { spans.append(span) }
                    itemStart = index + 1
                    sawAngle = false
                }
            default:
                break
            }
        }
        if !sawAngle, angleOpen == nil, let span = bareSpan(itemStart..<characters.count) { spans.append(span) }
        var result = characters
        var changed = false
        for span in spans.reversed() {
            let text = String(characters[span])
            guard !text.isEmpty, let replacement = masquerade(text), replacement != text else { continue }
            result.replaceSubrange(span, with: Array(replacement))
            changed = true
        }
        return changed ? String(result) : nil
    }
}

extension Substring {
    fileprivate func trimmingCharacters(in set: String) -> String {
        var slice = self
        while let first = slice.first, set.contains(first) { slice.removeFirst() }
        while let last = slice.last, set.contains(last) { slice.removeLast() }
        return String(slice)
    }
}

extension QueueRunner {
    /// The masquerading for `message` (see ``SenderMasquerade``); `text` is its whole text when it
    /// was read already.
    func senderMasquerade(for message: QueuedMessage, text: ByteBuffer?, needed: Bool) async -> SenderMasquerade {
        let envelope = message.envelope
        guard needed, router.configuration.masqueradeAs != nil || envelope.client.address == nil else {
            return .unchanged(envelope.reversePath)
        }
        let router = router
        var reversePath = envelope.reversePath
        if let mailbox = envelope.reversePath.mailbox {
            let masqueraded = await withTaskExecutorPreference(routingExecutor) {
                try? await router.masquerade(RoutingAddress(mailbox), envelope: true)
            }
            if let masqueraded, let parsed = try? Mailbox(parsing: masqueraded.description), parsed != mailbox {
                reversePath = ReversePath(mailbox: parsed)
            }
        }
        // The header: from the text in memory, or read from the spool.
        var bytes: [UInt8] = []
        if let text {
            bytes = Array(text.readableBytesView.prefix(SenderMasquerade.headerLimit))
        } else if let body = try? queue.body(of: message.id) {
            do {
                for try await piece in body {
                    bytes += piece.readableBytesView
                    if SenderMasquerade.headerLength(bytes) != nil || bytes.count >= SenderMasquerade.headerLimit { break }
                }
            } catch {
                return SenderMasquerade(reversePath: reversePath, header: nil)
            }
        }
        guard let length = SenderMasquerade.headerLength(bytes), let header = String(validating: bytes[..<length], as: UTF8.self) else {
            return SenderMasquerade(reversePath: reversePath, header: nil)
        }
        // The addresses of the sender fields, masqueraded as one job on the maps' pool; then the
        // header rewritten with them.
        var found: Set<String> = []
        _ = SenderMasquerade.rewriteHeader(header) { text in
            found.insert(text)
            return nil
        }
        guard !found.isEmpty else { return SenderMasquerade(reversePath: reversePath, header: nil) }
        let candidates = found
        let replacements: [String: String] = await withTaskExecutorPreference(routingExecutor) {
            var replacements: [String: String] = [:]
            for text in candidates {
                guard let address = try? RoutingAddress(parsing: text),
                      let masqueraded = try? await router.masquerade(address, envelope: false) else { continue }
                replacements[text] = masqueraded.description
            }
            return replacements
        }
        let rewritten = SenderMasquerade.rewriteHeader(header) { replacements[$0] }
        guard let rewritten else { return SenderMasquerade(reversePath: reversePath, header: nil) }
        return SenderMasquerade(reversePath: reversePath, header: .init(replacement: ByteBuffer(string: rewritten), originalLength: length))
    }
}
