public import SMTPProtocol

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A delivery status notification (RFC 3464) as a `multipart/report` message (RFC 6522): the
/// bounce, the delay warning or the success report that goes back to the envelope sender.
///
/// Three parts: a text for people, the machine-readable `message/delivery-status` with one block
/// per recipient, and the original message — whole (`message/rfc822`), or only its header
/// (`text/rfc822-headers`) when the sender asked `RET=HDRS` (RFC 3461 §4.3), for a delay warning,
/// or when the message is larger than ``returnedMessageLimit``. A message that used SMTPUTF8 gets the
/// internationalized forms of RFC 6533 (`message/global-delivery-status`, `message/global`,
/// `utf-8` address types).
///
/// The report is written with CRLF line ends (the form the spool holds) and streamed: the original
/// text is read a piece at a time, so a large message is never in memory whole. Whoever sends the
/// report sends it with the null reverse path `<>`, and never sends one about a message whose own
/// sender was `<>` (RFC 5321 §6.1, RFC 3461 §6.2); that is the queue's rule, not this type's.
public struct DeliveryStatusReport: Sendable {
    /// What the report is about (RFC 3464 §2.3.3's actions, grouped as a report's subject).
    public enum Kind: Hashable, Sendable {
        /// Some or all recipients failed for good.
        case failure
        /// Delivery is taking long and goes on (the queuewarn warning).
        case delay
        /// Delivery succeeded and the sender asked to know (NOTIFY=SUCCESS), or the message was
        /// relayed to a server that does not offer DSN.
        case success
    }

    /// `Action:` (RFC 3464 §2.3.3).
    public enum Action: String, Hashable, Sendable {
        /// The message could not be delivered to the recipient (a bounce).
        case failed
        /// Not delivered yet; the runner keeps trying (a warning, `queuewarn`).
        case delayed
        /// Delivered to the recipient's mailbox (or an LMTP server took it).
        case delivered
        /// Handed to a next hop that does not do DSN (RFC 3461 §6.2.2).
        case relayed
        /// Delivered to an alias's targets (RFC 3461 §6.2.4).
        case expanded
    }

    /// One recipient's block.
    public struct Recipient: Hashable, Sendable {
        /// `Original-Recipient:` — the recipient's ORCPT, when the client sent one.
        public var originalRecipient: RecipientParameters.OriginalRecipient?
        /// `Final-Recipient:` — the address as this MTA tried it.
        public var finalRecipient: String
        /// `Action:`.
        public var action: Action
        /// `Status:`.
        public var status: EnhancedStatusCode
        /// `Remote-MTA:` — the server that answered, when there was one.
        public var remoteMTA: String?
        /// `Diagnostic-Code: smtp; …` — the remote server's reply, or this MTA's own reason.
        public var diagnostic: String?
        /// `Last-Attempt-Date:`, in seconds since 1970.
        public var lastAttempt: UInt64?
        /// `Will-Retry-Until:`, for a delay: when the queue gives up.
        public var willRetryUntil: UInt64?

        /// One recipient's fields (RFC 3464 §2.3).
        public init(
            originalRecipient: RecipientParameters.OriginalRecipient? = nil, finalRecipient: String,
            action: Action, status: EnhancedStatusCode, remoteMTA: String? = nil, diagnostic: String? = nil,
            lastAttempt: UInt64? = nil, willRetryUntil: UInt64? = nil
        ) {
            self.originalRecipient = originalRecipient
            self.finalRecipient = finalRecipient
            self.action = action
            self.status = status
            self.remoteMTA = remoteMTA
            self.diagnostic = diagnostic
            self.lastAttempt = lastAttempt
            self.willRetryUntil = willRetryUntil
        }
    }

    /// The original message returned with a report of more octets than this goes back as its
    /// header only: 50,000, as Postfix's `bounce_size_limit`.
    public static let defaultReturnedMessageLimit = 50_000

    /// What the report says.
    public var kind: Kind
    /// The MTA that reports (`Reporting-MTA: dns; …`, and the `From:` address's domain).
    public var reportingMTA: String
    /// Who gets the report: the original envelope sender (`To:`).
    public var recipientOfReport: Mailbox
    /// `Original-Envelope-Id:` — MAIL's ENVID.
    public var envelopeID: String?
    /// `Arrival-Date:`, in seconds since 1970.
    public var arrivalDate: UInt64
    /// MAIL's RET.
    public var returnContent: DSNReturn?
    /// Whether the original message used SMTPUTF8 (RFC 6533 forms).
    public var internationalized: Bool
    /// The recipients the report is about.
    public var recipients: [Recipient]
    /// See ``defaultReturnedMessageLimit``.
    public var returnedMessageLimit: Int
    /// The report's `Date:`, in seconds since 1970.
    public var date: UInt64
    /// A unique token for the `Message-ID:` and the MIME boundary (the queue id of the report does).
    public var uniqueToken: String

    /// A report of `kind` from `reportingMTA` to `recipientOfReport` (RFC 3464 §2).
    public init(
        kind: Kind, reportingMTA: String, recipientOfReport: Mailbox, envelopeID: String? = nil,
        arrivalDate: UInt64, returnContent: DSNReturn? = nil, internationalized: Bool = false,
        recipients: [Recipient], returnedMessageLimit: Int = Self.defaultReturnedMessageLimit,
        date: UInt64, uniqueToken: String
    ) {
        self.kind = kind
        self.reportingMTA = reportingMTA
        self.recipientOfReport = recipientOfReport
        self.envelopeID = envelopeID
        self.arrivalDate = arrivalDate
        self.returnContent = returnContent
        self.internationalized = internationalized
        self.recipients = recipients
        self.returnedMessageLimit = returnedMessageLimit
        self.date = date
        self.uniqueToken = uniqueToken
    }

    /// Whether the whole original goes back, for an original of `size` octets.
    public func returnsWholeMessage(originalSize: Int) -> Bool {
        kind != .delay && returnContent != .headers && originalSize <= returnedMessageLimit
    }

    /// Writes the report: `original` gives the original message's text (CRLF, as spooled) a piece
    /// at a time and `originalSize` its length; `write` takes the report's text a piece at a time.
    public func write(
        originalSize: Int, original: () throws -> [UInt8]?, to write: ([UInt8]) throws -> Void
    ) throws {
        let whole = returnsWholeMessage(originalSize: originalSize)
        try write(Array(head(returningWholeMessage: whole).utf8))
        var pending: [UInt8] = []
        var headerEnded = false
        var lastTwo: [UInt8] = [13, 10]
        while !headerEnded, let chunk = try original() {
            if whole {
                if !chunk.isEmpty { lastTwo = Array((lastTwo + chunk).suffix(2)) }
                try write(chunk)
                continue
            }
            // The header only: up to the first empty line.
            pending += chunk
            if let end = Self.headerEnd(pending) {
                pending.removeSubrange(end...)
                headerEnded = true
            }
            if pending.count > 1 << 16 && !headerEnded {
                // Keep the last 3 octets: a CRLFCRLF may straddle this piece and the next.
                let keep = pending.suffix(3)
                try write(Array(pending.dropLast(3)))
                pending = Array(keep)
            }
        }
        if !whole {
            if !pending.isEmpty { lastTwo = Array(([13, 10] + pending).suffix(2)) }
            try write(pending)
        }
        // The part's text must end with a line end before the closing boundary.
        let ending = lastTwo == [13, 10] ? "" : "\r\n"
        try write(Array("\(ending)\r\n--\(boundary)--\r\n".utf8))
    }

    // MARK: - The text

    var boundary: String { "\(uniqueToken)/\(reportingMTA)" }

    private var subject: String {
        switch kind {
        case .failure: "Undelivered Mail Returned to Sender"
        case .delay: "Delayed Mail (still being retried)"
        case .success: "Successful Mail Delivery Report"
        }
    }

    private func head(returningWholeMessage whole: Bool) -> String {
        let addressType = internationalized ? "utf-8" : "rfc822"
        var lines: [String] = [
            "From: Mail Delivery System <MAILER-DAEMON@\(reportingMTA)>",
            "To: \(recipientOfReport.quoted)",
            "Subject: \(subject)",
            "Date: \(Self.rfc5322Date(date))",
            "Message-ID: <\(uniqueToken)@\(reportingMTA)>",
            "Auto-Submitted: auto-replied",
            "MIME-Version: 1.0",
            "Content-Type: multipart/report; report-type=delivery-status;",
            "\tboundary=\"\(boundary)\"",
            "",
            "This is a MIME-encapsulated message.",
            "",
            "--\(boundary)",
            "Content-Type: text/plain; charset=\(internationalized ? "utf-8" : "us-ascii")",
            "Content-Description: Notification",
            "",
        ]
        lines += humanText
        lines += [
            "",
            "--\(boundary)",
            "Content-Type: message/\(internationalized ? "global-delivery-status" : "delivery-status")",
            "Content-Description: Delivery report",
            "",
            "Reporting-MTA: dns; \(reportingMTA)",
        ]
        if let envelopeID { lines.append("Original-Envelope-Id: \(Self.fieldText(envelopeID))") }
        lines.append("Arrival-Date: \(Self.rfc5322Date(arrivalDate))")
        for recipient in recipients {
            lines.append("")
            if let original = recipient.originalRecipient {
                lines.append("Original-Recipient: \(Self.fieldText(original.type));\(Self.fieldText(original.address))")
            }
            lines.append("Final-Recipient: \(addressType); \(Self.fieldText(recipient.finalRecipient))")
            lines.append("Action: \(recipient.action.rawValue)")
            lines.append("Status: \(recipient.status)")
            if let remote = recipient.remoteMTA { lines.append("Remote-MTA: dns; \(Self.fieldText(remote))") }
            if let diagnostic = recipient.diagnostic { lines.append("Diagnostic-Code: smtp; \(Self.fieldText(diagnostic))") }
            if let last = recipient.lastAttempt { lines.append("Last-Attempt-Date: \(Self.rfc5322Date(last))") }
            if let until = recipient.willRetryUntil { lines.append("Will-Retry-Until: \(Self.rfc5322Date(until))") }
        }
        lines += ["", "--\(boundary)"]
        if whole {
            lines.append("Content-Type: message/\(internationalized ? "global" : "rfc822")")
            lines.append("Content-Description: Undelivered Message")
        } else {
            lines.append("Content-Type: \(internationalized ? "message/global-headers" : "text/rfc822-headers")")
            lines.append("Content-Description: Undelivered Message Headers")
        }
        lines += ["", ""]
        return lines.joined(separator: "\r\n")
    }

    private var humanText: [String] {
        var lines: [String]
        switch kind {
        case .failure:
            lines = [
                "This is the mail system at \(reportingMTA).",
                "",
                "Your message could not be delivered to one or more recipients; this",
                "will not change by trying again. The reasons are below.",
            ]
        case .delay:
            lines = [
                "This is the mail system at \(reportingMTA).",
                "",
                "Your message has not been delivered yet to the recipients below.",
                "It is still being tried; you do not need to send it again.",
            ]
        case .success:
            lines = [
                "This is the mail system at \(reportingMTA).",
                "",
                "Your message was delivered (or handed on) as you asked to be told:",
            ]
        }
        lines.append("")
        for recipient in recipients {
            var line = "<\(Self.fieldText(recipient.finalRecipient))>: \(recipient.action.rawValue)"
            if let diagnostic = recipient.diagnostic { line += " (\(Self.fieldText(diagnostic)))" }
            lines.append(line)
            if let until = recipient.willRetryUntil {
                lines.append("    tried until \(Self.rfc5322Date(until))")
            }
        }
        return lines
    }

    /// Text from outside (a remote reply, an address) made fit for one header field: no control
    /// characters, and at most 900 octets.
    static func fieldText(_ text: String) -> String {
        var result = ""
        for scalar in text.unicodeScalars {
            if scalar.value < 0x20 || scalar.value == 0x7F {
                if !result.hasSuffix(" ") { result.append(" ") }
            } else {
                result.unicodeScalars.append(scalar)
            }
            if result.utf8.count >= 900 { break }
        }
        return result.trimmingSpaces()
    }

    /// The end of a header (the index after CRLF CRLF's first CRLF), if the text holds it.
    static func headerEnd(_ text: [UInt8]) -> Int? {
        if text.starts(with: [13, 10]) { return 0 }
        guard text.count >= 4 else { return nil }
        for index in 0...(text.count - 4)
        where text[index] == 13 && text[index + 1] == 10 && text[index + 2] == 13 && text[index + 3] == 10 {
            return index + 2
        }
        return nil
    }

    /// `Tue, 01 Dec 2026 09:03:41 +0000` (RFC 5322 §3.3), in UTC.
    static func rfc5322Date(_ seconds: UInt64) -> String {
        var value = time_t(seconds)
        var parts = tm()
        gmtime_r(&value, &parts)
        var buffer = [CChar](repeating: 0, count: 64)
        // strftime's %a and %b follow the C locale, which is what RFC 5322 needs.
        let count = strftime(&buffer, buffer.count, "%a, %d %b %Y %H:%M:%S +0000", &parts)
        return String(decoding: buffer.prefix(count).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

extension String {
    fileprivate func trimmingSpaces() -> String {
        var slice = Substring(self)
        while slice.first == " " { slice.removeFirst() }
        while slice.last == " " { slice.removeLast() }
        return String(slice)
    }
}
