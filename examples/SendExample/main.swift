// SendExample: sending a message from a Swift program with SMTPClient, in the few lines an
// application needs. Run it against any submission server:
//
//   swift run SendExample mail.example.com:587 alice@example.com bob@example.org
//
// With SMTP_USER and SMTP_PASSWORD in the environment it authenticates (after STARTTLS, which it
// requires); SMTP_CA_FILE names a CA to trust instead of the system's. The exit status is 0 when
// every recipient was accepted.

import Foundation
import SMTPClient
import SMTPProtocol

let arguments = CommandLine.arguments.dropFirst()
guard arguments.count >= 3 else {
    print("usage: SendExample HOST[:PORT] FROM TO...")
    exit(64)
}
let server = arguments.first!.split(separator: ":")
let environment = ProcessInfo.processInfo.environment

var configuration = SMTPClientConfiguration()
if let caFile = environment["SMTP_CA_FILE"] { configuration.tls = .client(caFile: caFile) }
let credentials = environment["SMTP_USER"].map {
    SMTPClientCredentials(user: $0, password: .init(environment["SMTP_PASSWORD"] ?? ""))
}

let sender: Mailbox
let recipients: [Mailbox]
do {
    sender = try Mailbox(parsing: String(arguments.dropFirst().first!))
    recipients = try arguments.dropFirst(2).map { try Mailbox(parsing: $0) }
} catch {
    print("bad address: \(error)")
    exit(64)
}

do {
    let result = try await SMTPClient.send(
        "Subject: Hello from SwiftMTA\r\n\r\nSent with SMTPClient.\r\n",
        from: sender, to: recipients,
        via: .smartHost(String(server[0]), port: server.count > 1 ? Int(server[1]) ?? 587 : 587,
                        tls: .required, credentials: credentials),
        configuration: configuration)
    print(result)
    exit(result.allAccepted ? 0 : 1)
} catch {
    // SMTPClientError: the stage, the server, and what it answered.
    print("not sent: \(error)")
    exit(error.isTemporary ? 75 : 69)
}
