/// What `sendmail -bv` says of a recipient (``Router/verify(_:)``): for each address it ends
/// at, after aliases(5) are expanded, whether it is deliverable and how, or why not.
public struct RecipientVerification: Hashable, Sendable {
    /// One final address.
    public struct Line: Hashable, Sendable, CustomStringConvertible {
        /// The address as expanded (`root`, `user@other.example`, `|/usr/bin/procmail`).
        public var address: String
        /// Where it goes, when it is deliverable.
        public var delivery: RoutingDecision.Delivery?
        /// Why it is not (an unknown user, a table's `error:`, a loop).
        public var refusal: RoutingError?

        /// The final `address`, with its `delivery` when deliverable and its `refusal` when not.
        /// The two are not checked against each other: a line without a refusal counts as
        /// deliverable.
        public init(address: String, delivery: RoutingDecision.Delivery?, refusal: RoutingError?) {
            self.address = address
            self.delivery = delivery
            self.refusal = refusal
        }

        /// As `sendmail -bv` prints it: `root... deliverable: mailer local, user root`, or
        /// `nosuchuser@tebbe.org... User unknown`.
        public var description: String {
            if let refusal { return "\(address)... \(refusal.reply.lines.joined(separator: " "))" }
            guard let delivery else { return "\(address)... deliverable" }
            let host = delivery.host.map { ", host \($0)" } ?? ""
            return "\(address)... deliverable: mailer \(delivery.mailer)\(host), user \(delivery.user)"
        }
    }

    /// The final addresses, in the order the aliases name them.
    public var lines: [Line]
    /// Every lookup that decided them.
    public var trace: [RoutingStep]

    /// The final addresses `lines`, in alias order, and the lookups in `trace`, taken as given.
    public init(lines: [Line], trace: [RoutingStep]) {
        self.lines = lines
        self.trace = trace
    }

    /// Whether every final address is deliverable.
    public var isDeliverable: Bool { lines.allSatisfy { $0.refusal == nil } }
}
