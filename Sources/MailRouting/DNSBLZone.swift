/// A DNS block list consulted for the client's address (Sendmail's `FEATURE(dnsbl, zone, message)`).
public struct DNSBLZone: Hashable, Sendable {
    /// The zone (`zen.example`).
    public var zone: String
    /// The reply text; `${client_addr}` and `$&{client_addr}` become the client's address.
    public var message: String

    /// The list at `zone` (not checked as a domain name), refusing with `message`; without one,
    /// Sendmail's `Rejected: ${client_addr} listed at <zone>`.
    public init(zone: String, message: String? = nil) {
        self.zone = zone
        self.message = message ?? "Rejected: ${client_addr} listed at \(zone)"
    }

    /// The message with the client's address put in.
    public func message(for clientAddress: String) -> String {
        message.replacingAll("$&{client_addr}", with: clientAddress).replacingAll("${client_addr}", with: clientAddress)
    }
}

extension String {
    func replacingAll(_ target: String, with replacement: String) -> String {
        let needle = Array(target.utf8)
        guard !needle.isEmpty else { return self }
        let haystack = Array(utf8)
        var output: [UInt8] = []
        output.reserveCapacity(haystack.count)
        var index = 0
        while index < haystack.count {
            if index + needle.count <= haystack.count, haystack[index..<(index + needle.count)].elementsEqual(needle) {
                output.append(contentsOf: replacement.utf8)
                index += needle.count
            } else {
                output.append(haystack[index])
                index += 1
            }
        }
        return String(decoding: output, as: UTF8.self)
    }
}
