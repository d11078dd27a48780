import MailMaps
import TOMLKit

/// How accepted mail leaves: the `[local]` section (where local mailboxes are), the queue runner's
/// keys of `[queue]` (when delivery starts, how many sessions and messages at once) and the TLS
/// policy map of `[maps]`.
///
/// ```toml
/// [queue]
/// delivery_mode = "background"      # confDELIVERY_MODE: at once ("background") or at queue runs ("queue")
/// destination_concurrency = 20      # sessions open at once to one destination
/// messages_in_flight = 1000         # messages being delivered at once
/// connection_reuse = 100            # messages one session carries before it is closed
///
/// [local]
/// mail_directory = "/var/mail"      # a mailbox per user: /var/mail/USER
/// mailbox_format = "maildir"        # or "mbox"
///
/// [maps]
/// tls_policy = "hash:/etc/mail/tls_policy"   # next hop → none | may | encrypt | verify | secure | dane
/// ```
///
/// Without a file (the embedded default) mailboxes are under `var/mail` of the working directory.
public struct DeliverySettings: Hashable, Sendable {
    /// When the runner starts delivering a message (Sendmail's `confDELIVERY_MODE`).
    public enum Mode: String, Hashable, Sendable {
        /// As soon as the message is in the spool (Sendmail's `b`, background).
        case background
        /// Only at a queue run (`swiftmta queue run`/`flush`; Sendmail's `q`, queue-only).
        case queue
    }

    /// How a local user's mailbox is stored.
    public enum MailboxFormat: String, Hashable, Sendable {
        /// A Maildir folder per user (maildir(5)).
        case maildir
        /// An mbox file per user (mbox(5)), locked with fcntl and a dot-lock.
        case mbox
    }

    /// When delivery starts.
    public var mode: Mode
    /// The folder holding a mailbox per local user (`DIR/USER`).
    public var mailDirectory: String
    /// How those mailboxes are stored.
    public var mailboxFormat: MailboxFormat
    /// At most this many sessions to one destination at once (Postfix's
    /// `default_destination_concurrency_limit`, 20).
    public var destinationConcurrency: Int
    /// At most this many messages being delivered at once; more wait their turn.
    public var messagesInFlight: Int
    /// How many messages one session carries before it is closed (Postfix's
    /// `smtp_connection_reuse_count_limit`).
    public var connectionReuse: Int
    /// How long an idle session is kept for the next message to its destination (Postfix's
    /// `smtp_connection_cache_time_limit`, 2 s).
    public var connectionIdle: Duration
    /// The TLS policy map (`[maps] tls_policy`, a MailMaps spec), resolved; `nil` for none.
    public var tlsPolicy: String?

    /// The mail directory of an installed server.
    public static let defaultMailDirectory = "/var/mail"
    /// The embedded default's: `var/mail` under the working directory.
    public static let embeddedMailDirectory = "var/mail"

    /// Settings from their parts; the defaults are described on each property.
    public init(
        mode: Mode = .background, mailDirectory: String = DeliverySettings.defaultMailDirectory,
        mailboxFormat: MailboxFormat = .maildir, destinationConcurrency: Int = 20, messagesInFlight: Int = 1000,
        connectionReuse: Int = 100, connectionIdle: Duration = .seconds(2), tlsPolicy: String? = nil
    ) {
        self.mode = mode
        self.mailDirectory = mailDirectory
        self.mailboxFormat = mailboxFormat
        self.destinationConcurrency = destinationConcurrency
        self.messagesInFlight = messagesInFlight
        self.connectionReuse = connectionReuse
        self.connectionIdle = connectionIdle
        self.tlsPolicy = tlsPolicy
    }

    /// Reads the delivery keys of a parsed configuration; problems go to `reader` with key and line.
    static func read(_ document: TOMLTable, _ reader: ConfigurationReader, paths: PathResolver) -> DeliverySettings {
        var settings = DeliverySettings()
        if reader.file.hasPrefix("<") { settings.mailDirectory = paths.resolve(embeddedMailDirectory) }
        if let section = reader.table(document, "queue", at: "") {
            if let text = reader.string(section, "delivery_mode", at: "queue") {
                if let mode = Mode(rawValue: text) {
                    settings.mode = mode
                } else {
                    reader.report("queue.delivery_mode", "must be \"background\" (deliver at once) or \"queue\" (at queue runs), not \"\(text)\"")
                }
            }
            settings.destinationConcurrency = reader.int(section, "destination_concurrency", at: "queue", range: 1...1000) ?? settings.destinationConcurrency
            settings.messagesInFlight = reader.int(section, "messages_in_flight", at: "queue", range: 1...100_000) ?? settings.messagesInFlight
            settings.connectionReuse = reader.int(section, "connection_reuse", at: "queue", range: 1...100_000) ?? settings.connectionReuse
            settings.connectionIdle = reader.duration(section, "connection_idle", at: "queue", range: .zero...Duration.seconds(300)) ?? settings.connectionIdle
        }
        if let section = reader.table(document, "local", at: "") {
            reader.checkKeys(section, at: "local", allowed: ConfigurationKeys.allowed("local"))
            if let directory = reader.string(section, "mail_directory", at: "local") {
                if directory.isEmpty || directory.utf8.contains(0) {
                    reader.report("local.mail_directory", "must be a path")
                } else {
                    settings.mailDirectory = paths.resolve(directory)
                }
            }
            if let text = reader.string(section, "mailbox_format", at: "local") {
                if let format = MailboxFormat(rawValue: text) {
                    settings.mailboxFormat = format
                } else {
                    reader.report("local.mailbox_format", "must be \"maildir\" or \"mbox\", not \"\(text)\"")
                }
            }
        }
        if let maps = reader.table(document, "maps", at: ""), let spec = reader.string(maps, "tls_policy", at: "maps") {
            do {
                settings.tlsPolicy = try paths.resolve(spec: MailMapSpec(spec)).description
            } catch {
                reader.report("maps.tls_policy", error.message)
            }
        }
        return settings
    }
}
