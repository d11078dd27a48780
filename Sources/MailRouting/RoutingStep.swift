public import MailMaps

/// One line of a routing trace: a table lookup, or a rule that decided something.
public enum RoutingStep: Hashable, Sendable, CustomStringConvertible {
    /// A key tried in a map, and what it gave.
    case lookup(MailMapProbe)
    /// A decision that did not come from a table (`tebbe.org is in class w`).
    case rule(String)

    public var description: String {
        switch self {
        case .lookup(let probe): probe.description
        case .rule(let text): text
        }
    }
}
