import MailServer
import SMTPProtocol

/// The fuzz targets of MailServer's parsers: each takes arbitrary bytes and must neither crash,
/// hang, nor grow memory without bound. Selected by name (`SWIFTMTA_FUZZ_TARGET` when fuzzing,
/// the first argument when replaying files).
enum FuzzTargets {
    static let all: [String: @Sendable (UnsafeRawBufferPointer) -> Void] = [
        "configuration": configuration,
        "help-file": helpFile,
        "received-header": receivedHeader,
        "sendmail-mc": sendmailMC,
        "access-tls": accessTLS,
        "check-transcript": checkTranscript,
    ]

    /// The configuration reader (TOMLKit, then every key's checks); every error names a line of
    /// the text (or none).
    static func configuration(_ bytes: UnsafeRawBufferPointer) {
        let text = String(decoding: bytes, as: UTF8.self)
        let lineCount = text.split(separator: "\n", omittingEmptySubsequences: false).count
        do {
            _ = try SwiftMTAConfiguration.parse(text, file: "fuzz.toml", directory: "/nonexistent")
        } catch {
            if let line = error.line { precondition((1...lineCount + 1).contains(line), "error line \(line) of \(lineCount): \(error)") }
            precondition(!error.description.isEmpty)
        }
    }

    /// The Sendmail help file parser, and the reply for each topic and for an unknown one:
    /// replies never carry a line break of their own.
    static func helpFile(_ bytes: UnsafeRawBufferPointer) {
        guard let help = try? SendmailHelpFile(text: String(decoding: bytes, as: UTF8.self)) else { return }
        for topic in Array(help.topics.keys) + ["no-such-topic", ""] {
            let reply = help.reply(for: topic, hostname: "mx.example.test")
            precondition(reply.code == 214 || reply.code == 504)
            for line in reply.lines { precondition(!line.contains("\r") && !line.contains("\n")) }
        }
    }

    /// The Received: header for an arbitrary HELO argument: exactly its folded lines, each ending
    /// in CRLF, continuation lines starting with a tab, comments balanced.
    static func receivedHeader(_ bytes: UnsafeRawBufferPointer) {
        let helo = String(decoding: bytes, as: UTF8.self)
        let header = ReceivedHeader(
            helloKind: .ehlo, helloName: helo, clientAddress: "192.0.2.1", hostname: "mx.example.test", tls: nil,
            shownUser: helo, authenticated: true, smtpUTF8: false, recipients: [], date: "Mon, 1 Dec 2025 09:03:00 +0000")
        let encoded = header.encoded
        let lines = encoded.split(separator: "\r\n", omittingEmptySubsequences: false).dropLast()
        precondition(encoded.hasSuffix("\r\n"))
        for (index, line) in lines.enumerated() {
            precondition(!line.contains("\r") && !line.contains("\n"), "a line break inside a header line")
            precondition(index == 0 ? line.hasPrefix("Received: from ") : line.hasPrefix("\t"))
            var depth = 0
            for character in line {
                if character == "(" { depth += 1 }
                if character == ")" { depth -= 1 }
                precondition(depth >= 0, "unbalanced comment in \(line)")
            }
            precondition(depth == 0, "unbalanced comment in \(line)")
            precondition(line.unicodeScalars.allSatisfy { $0.value == 9 || (0x20...0x7E).contains($0.value) }, "not printable ASCII: \(line)")
        }
    }

    /// The m4 reader of `swiftmta import-mc` (MCMacroProcessor) over an arbitrary .mc: it ends
    /// (within its bounds, smaller here so that each input is quick), every line it names is a
    /// line of the input, and the values it gives can be asked for.
    static func sendmailMC(_ bytes: UnsafeRawBufferPointer) {
        let input = Array(bytes)
        let lineCount = input.reduce(1) { $0 + ($1 == 0x0A ? 1 : 0) }
        var limits = MCLimits()
        limits.maximumExpansions = 5_000
        limits.maximumExpandedBytes = 1 << 20
        limits.maximumArgumentSize = 64 * 1024
        limits.maximumNesting = 100
        var processor = MCMacroProcessor(limits: limits, cfDirectory: "/nonexistent/cf") { path in
            // The .mc itself, and an include that holds one define.
            path == "fuzz.mc" ? .success(input) : .success(Array("define(`INCLUDED', `yes')dnl\n".utf8))
        }
        func check(_ location: MCLocation) {
            if location.file == "fuzz.mc" { precondition((1...lineCount).contains(location.line), "line \(location.line) of \(lineCount)") }
        }
        do {
            try processor.process(file: "fuzz.mc")
        } catch {
            if let location = error.location { check(location) }
            precondition(!error.message.isEmpty)
            return
        }
        for diagnostic in processor.diagnostics { check(diagnostic.location) }
        for event in processor.events {
            switch event {
            case .call(let call): check(call.location)
            case .define(_, _, let location), .undefine(_, let location), .include(_, _, let location): check(location)
            }
        }
        for name in ["confSERVER_CERT", "SMART_HOST", "MAIL_SETTINGS_DIR"] {
            _ = try? processor.value(of: name)
        }
    }

    /// `swiftmta import-mc`'s reading of an access map's STARTTLS entries (`TLS_Srv:`, `Try_TLS:`,
    /// …) and the TLS policy keys each becomes: every entry names a line of the text, its tag is one
    /// of those read, and every key is `NAME`, `.NAME` or `[NAME]` of the entry's name.
    static func accessTLS(_ bytes: UnsafeRawBufferPointer) {
        let text = String(decoding: bytes, as: UTF8.self)
        let lineCount = text.split(separator: "\n", omittingEmptySubsequences: false).count
        let tags: Set<String> = ["tls_srv", "try_tls", "tls_clt", "tls_rcpt", "srv_features", "clt_features"]
        for entry in SendmailMCImporter.accessTLSEntries(text, file: "access") {
            precondition(entry.location.file == "access" && (1...lineCount).contains(entry.location.line), "line \(entry.location.line) of \(lineCount)")
            precondition(tags.contains(entry.tag.lowercased()), entry.tag)
            let keys = SendmailMCImporter.policyKeys(for: entry.name, smartHost: "relay.isp.example")
            precondition(!keys.isEmpty)
            let bare = entry.name.hasSuffix(".") ? String(entry.name.dropLast()) : entry.name
            for key in keys {
                precondition(key == bare || key == "." + bare || key == "[\(bare)]" || key == "[relay.isp.example]", "\(key) for \(entry.name)")
            }
        }
    }

    /// `swiftmta check session`'s transcript reader: a transcript is read or refused with the line
    /// that is wrong; every `R:` line's bytes escape and unescape to themselves; the writes hold
    /// exactly the client's lines.
    static func checkTranscript(_ bytes: UnsafeRawBufferPointer) {
        let text = String(decoding: bytes, as: UTF8.self)
        let transcript: SessionTranscript
        do {
            transcript = try SessionTranscript(text: text)
        } catch {
            precondition(error.message.hasPrefix("transcript line "), "\(error)")
            return
        }
        var clientLines = 0
        for write in transcript.writes {
            precondition(!write.lines.isEmpty)
            clientLines += write.lines.count
            for line in write.lines where line.hasPrefix("R: ") {
                let raw = try! SessionTranscript.unescape(String(line.dropFirst(3)))
                precondition(try! SessionTranscript.unescape(SessionTranscript.escape(raw)) == raw)
            }
        }
        switch transcript.form {
        case .plain:
            precondition(transcript.expected.isEmpty)
        case .golden:
            precondition(transcript.expected.filter { $0.hasPrefix("C: ") || $0.hasPrefix("R: ") }.count == clientLines)
            for line in transcript.expected { precondition(SessionTranscript.tag(of: line) != nil, line) }
        }
    }
}
