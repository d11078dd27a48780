/// One key tried in one map, and what came of it: a line of a routing trace
/// (`hash:/etc/mail/access  Connect:206.10.252.103  not found`).
public struct MailMapProbe: Hashable, Sendable, CustomStringConvertible {
    /// What a lookup gave.
    public enum Outcome: Hashable, Sendable {
        /// The key is in the map, with this value.
        case found(String)
        /// The key is not in the map.
        case notFound
        /// The map could not be read; the search stopped here.
        case failed(MailMapError)
    }

    /// The map's `type:name` spec.
    public let map: String
    /// The key, as the caller gave it (before case folding).
    public let key: String
    /// What the lookup gave.
    public let outcome: Outcome

    /// A probe of `key` in `map`.
    public init(map: String, key: String, outcome: Outcome) {
        self.map = map
        self.key = key
        self.outcome = outcome
    }

    /// The value found, if any.
    public var value: String? {
        switch outcome {
        case .found(let value): value
        case .notFound, .failed: nil
        }
    }

    /// The same probe with the value hidden: for traces of maps whose values are secrets
    /// (`authinfo`, whose values hold passwords), before they are logged or shown.
    public var redacted: MailMapProbe {
        switch outcome {
        case .found: MailMapProbe(map: map, key: key, outcome: .found("<redacted>"))
        case .notFound, .failed: self
        }
    }

    /// `map key → value`, `map key: not found`, or `map key: error: message`.
    public var description: String {
        switch outcome {
        case .found(let value): "\(map) \(key) → \(value)"
        case .notFound: "\(map) \(key): not found"
        case .failed(let error): "\(map) \(key): error: \(error.message)"
        }
    }
}
