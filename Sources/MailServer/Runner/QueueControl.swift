import NIOCore

/// The control socket's protocol: how `swiftmta queue` and `swiftmta sendmail` reach the server
/// that holds the spool (the journal has one writer, the server; the commands ask it).
///
/// The socket is `SPOOL/control`, a Unix-domain stream socket. The client sends one request:
/// a line with a command and its words, for `submit` followed by `sender`, `recipient` and `param`
/// lines, a `data N` line and N octets of message text. The server answers with lines, each
/// starting with a tag: `1 ` a line of output, `2 ` a line of errors, `p DONE TOTAL` progress of a
/// queue run, and last `= STATUS`, the command's exit status (sysexits).
///
/// Who may do what is decided by the peer's credentials (SO_PEERCRED): any local user may submit;
/// the queue commands are for root and the server's own user.
enum QueueControl {
    /// The socket's file name in the spool directory.
    static let socketName = "control"

    /// The longest request line, and the most header lines of a submission.
    static let maximumLine = 4096
    static let maximumLines = 100_000

    /// A request.
    enum Request: Hashable, Sendable {
        case list(json: Bool)
        case show(String, json: Bool)
        case remove(String)
        case run(selection: String, verbose: Bool)
        case submit(Submission)
    }

    /// A message handed over by `swiftmta sendmail`: its envelope and its size; the text follows.
    struct Submission: Hashable, Sendable {
        var sender: String
        var recipients: [String]
        /// MAIL and RCPT parameters as `sendmail` takes them (`-N`, `-R`, `-V`): `RET=HDRS`, `NOTIFY=…`, `ENVID=…`.
        var parameters: [String] = []
        /// Whether `-f` set the sender (an untrusted user gets an X-Authentication-Warning).
        var senderGiven = false
    }

    /// The request's lines (without the text of a submission).
    static func encode(_ request: Request) -> String {
        switch request {
        case .list(let json): return "list" + (json ? " json" : "") + "\n"
        case .show(let id, let json): return "show \(id)" + (json ? " json" : "") + "\n"
        case .remove(let id): return "remove \(id)\n"
        case .run(let selection, let verbose): return "run \(selection)" + (verbose ? " verbose" : "") + "\n"
        case .submit(let submission):
            var text = "submit\nsender \(submission.sender)\n"
            if submission.senderGiven { text += "sender-given\n" }
            for recipient in submission.recipients { text += "recipient \(recipient)\n" }
            for parameter in submission.parameters { text += "param \(parameter)\n" }
            return text + "data\n"
        }
    }

    /// Why a request could not be read.
    struct ProtocolError: Error, CustomStringConvertible {
        let description: String
    }

    /// Reads a request from the front of `buffer`: the request once its lines are complete (the
    /// text of a submission stays in the buffer), `nil` when more octets are needed.
    static func decode(_ buffer: inout ByteBuffer) throws(ProtocolError) -> Request? {
        var view = buffer
        var lines: [String] = []
        while true {
            guard let newline = view.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else {
                if view.readableBytes > maximumLine { throw ProtocolError(description: "request line too long") }
                return nil
            }
            let length = newline - view.readerIndex
            guard length <= maximumLine, let line = view.readString(length: length) else { throw ProtocolError(description: "request line too long") }
            view.moveReaderIndex(forwardBy: 1)
            lines.append(line)
            guard lines.count <= maximumLines else { throw ProtocolError(description: "too many request lines") }
            let words = lines[0].split(separator: " ").map(String.init)
            guard let command = words.first else { throw ProtocolError(description: "empty request") }
            let json = words.dropFirst().contains("json")
            switch command {
            case "list":
                buffer = view
                return .list(json: json)
            case "show":
                guard words.count >= 2 else { throw ProtocolError(description: "show needs a queue id") }
                buffer = view
                return .show(words[1], json: json)
            case "remove":
                guard words.count == 2 else { throw ProtocolError(description: "remove needs a queue id") }
                buffer = view
                return .remove(words[1])
            case "run":
                guard words.count >= 2 else { throw ProtocolError(description: "run needs due, all or a queue id") }
                buffer = view
                return .run(selection: words[1], verbose: words.dropFirst(2).contains("verbose"))
            case "submit":
                guard lines.last == "data" else { continue }
                var submission = Submission(sender: "", recipients: [])
                for line in lines.dropFirst().dropLast() {
                    if line.hasPrefix("sender ") {
                        submission.sender = String(line.dropFirst(7))
                    } else if line == "sender-given" {
                        submission.senderGiven = true
                    } else if line.hasPrefix("recipient ") {
                        submission.recipients.append(String(line.dropFirst(10)))
                    } else if line.hasPrefix("param ") {
                        submission.parameters.append(String(line.dropFirst(6)))
                    } else {
                        throw ProtocolError(description: "unknown submission line")
                    }
                }
                buffer = view
                return .submit(submission)
            default:
                throw ProtocolError(description: "unknown command \(command)")
            }
        }
    }

    /// One answer line.
    enum Answer: Hashable, Sendable {
        case output(String)
        case error(String)
        case progress(done: Int, total: Int)
        case status(Int32)

        var encoded: String {
            switch self {
            case .output(let line): "1 \(line)\n"
            case .error(let line): "2 \(line)\n"
            case .progress(let done, let total): "p \(done) \(total)\n"
            case .status(let status): "= \(status)\n"
            }
        }

        init?(line: String) {
            if line.hasPrefix("1 ") { self = .output(String(line.dropFirst(2))); return }
            if line.hasPrefix("2 ") { self = .error(String(line.dropFirst(2))); return }
            if line.hasPrefix("p ") {
                let parts = line.dropFirst(2).split(separator: " ")
                guard parts.count == 2, let done = Int(parts[0]), let total = Int(parts[1]) else { return nil }
                self = .progress(done: done, total: total)
                return
            }
            if line.hasPrefix("= "), let status = Int32(line.dropFirst(2)) { self = .status(status); return }
            return nil
        }
    }
}
