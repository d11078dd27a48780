/// Sendmail's `PrivacyOptions` (`confPRIVACY_FLAGS`): what the server keeps to itself.
///
/// `goaway` is all of the SMTP ones at once, as in Sendmail: `needmailhelo`, `needexpnhelo`,
/// `needvrfyhelo`, `noexpn`, `novrfy`, `noetrn`, `noverb`, `authwarnings`, `noreceipts` and
/// `nobodyreturn`. The queue ones (`restrictmailq`, `restrictqrun`, `restrictexpand`) are read so a
/// Sendmail line translates unchanged; they concern `swiftmta queue`.
///
/// ```swift
/// let privacy = try PrivacyOptions(flags: ["goaway"])
/// privacy.contains(.noVerify)   // true: VRFY gets 252 and reveals nothing (RFC 5321 §3.5.3)
/// ```
public struct PrivacyOptions: OptionSet, Hashable, Sendable {
    public let rawValue: UInt32

    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// `needmailhelo`: MAIL needs HELO or EHLO first (RFC 5321 §4.1.4).
    public static let needMailHelo = PrivacyOptions(rawValue: 1 << 0)
    /// `needexpnhelo`: EXPN needs HELO or EHLO first.
    public static let needExpandHelo = PrivacyOptions(rawValue: 1 << 1)
    /// `needvrfyhelo`: VRFY needs HELO or EHLO first.
    public static let needVerifyHelo = PrivacyOptions(rawValue: 1 << 2)
    /// `noexpn`: EXPN is refused (502 5.7.0), so lists cannot be harvested (RFC 5321 §7.3).
    public static let noExpand = PrivacyOptions(rawValue: 1 << 3)
    /// `novrfy`: VRFY answers 252 without saying whether the user exists (RFC 5321 §3.5.3).
    public static let noVerify = PrivacyOptions(rawValue: 1 << 4)
    /// `noetrn`: ETRN (RFC 1985) is not offered.
    public static let noETRN = PrivacyOptions(rawValue: 1 << 5)
    /// `noverb`: Sendmail's VERB command is refused (SwiftMTA never had it).
    public static let noVerb = PrivacyOptions(rawValue: 1 << 6)
    /// `authwarnings`: `X-Authentication-Warning:` on a local submission whose untrusted user set
    /// another sender with `-f` (on by default, as in Sendmail's configuration).
    public static let authWarnings = PrivacyOptions(rawValue: 1 << 7)
    /// `noreceipts`: no success DSNs, so DSN (RFC 3461) is not offered.
    public static let noReceipts = PrivacyOptions(rawValue: 1 << 8)
    /// `nobodyreturn`: bounces never return the message body.
    public static let noBodyReturn = PrivacyOptions(rawValue: 1 << 9)
    /// `restrictmailq`: only the queue's group may list the queue.
    public static let restrictMailq = PrivacyOptions(rawValue: 1 << 10)
    /// `restrictqrun`: only root and the queue's owner may run the queue.
    public static let restrictQueueRun = PrivacyOptions(rawValue: 1 << 11)
    /// `restrictexpand`: `-bv` style expansion only for trusted users.
    public static let restrictExpand = PrivacyOptions(rawValue: 1 << 12)

    /// `goaway`: every SMTP restriction above.
    public static let goAway: PrivacyOptions = [
        .needMailHelo, .needExpandHelo, .needVerifyHelo, .noExpand, .noVerify, .noETRN, .noVerb,
        .authWarnings, .noReceipts, .noBodyReturn,
    ]

    /// Each flag's Sendmail name.
    static let names: [(String, PrivacyOptions)] = [
        ("public", []), ("needmailhelo", .needMailHelo), ("needexpnhelo", .needExpandHelo),
        ("needvrfyhelo", .needVerifyHelo), ("noexpn", .noExpand), ("novrfy", .noVerify), ("noetrn", .noETRN),
        ("noverb", .noVerb), ("authwarnings", .authWarnings), ("noreceipts", .noReceipts),
        ("nobodyreturn", .noBodyReturn), ("restrictmailq", .restrictMailq), ("restrictqrun", .restrictQueueRun),
        ("restrictexpand", .restrictExpand), ("goaway", .goAway),
    ]

    /// Reads Sendmail's flag names (`["goaway"]`, `["authwarnings", "noexpn"]`), case-insensitively.
    ///
    /// - Throws: the first name Sendmail does not define, as an ``UnknownFlag``.
    public init(flags: [String]) throws(UnknownFlag) {
        var options: PrivacyOptions = []
        for flag in flags {
            let name = flag.lowercased()
            guard let entry = Self.names.first(where: { $0.0 == name }) else { throw UnknownFlag(name: flag) }
            options.formUnion(entry.1)
        }
        self = options
    }

    /// A flag name that Sendmail's `PrivacyOptions` does not define.
    public struct UnknownFlag: Error, Hashable, Sendable, CustomStringConvertible {
        /// The name as written.
        public let name: String

        public var description: String {
            "\"\(name)\" is not a privacy flag (" + PrivacyOptions.names.map(\.0).joined(separator: ", ") + ")"
        }
    }
}
