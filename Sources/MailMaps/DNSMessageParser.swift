internal import CResolver
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a DNS response with libresolv's `ns_initparse` and `ns_parserr`; only the RDATA of the
/// records asked for is decoded here, with every length checked against the record's.
package enum DNSMessageParser {
    package struct Failure: Error {
        var reason: String
        var isTemporary: Bool
    }

    package static func parse(
        _ message: UnsafeRawBufferPointer, type: DNSRecordType,
        maximumTTL: Duration, negativeTTL: Duration, trustsAuthenticatedData: Bool
    ) -> Result<DNSResponse, Failure> {
        guard let base = message.baseAddress?.assumingMemoryBound(to: UInt8.self) else {
            return .failure(Failure(reason: "the answer is empty", isTemporary: true))
        }
        var handle = ns_msg()
        guard ns_initparse(base, Int32(message.count), &handle) == 0 else {
            return .failure(Failure(reason: "the answer does not parse", isTemporary: true))
        }
        let rcode = swiftmta_ns_msg_getflag(&handle, ns_f_rcode)
        let authenticated = trustsAuthenticatedData && swiftmta_ns_msg_getflag(&handle, ns_f_ad) != 0
        switch rcode {
        case 0:  // NOERROR
            break
        case 3:  // NXDOMAIN
            let ttl = negativeTTLFromSOA(&handle) ?? negativeTTL
            return .success(DNSResponse(records: [], nameExists: false, isAuthenticated: authenticated, ttl: min(ttl, maximumTTL)))
        case 2:
            return .failure(Failure(reason: "the server failed (SERVFAIL)", isTemporary: true))
        case 5:
            return .failure(Failure(reason: "the server refused the query (REFUSED)", isTemporary: true))
        default:
            return .failure(Failure(reason: "the server answered with error code \(rcode)", isTemporary: false))
        }

        var records: [DNSRecordData] = []
        var ttl: UInt32 = .max
        let count = swiftmta_ns_msg_count(&handle, ns_s_an)
        for index in 0..<count {
            var rr = ns_rr()
            guard ns_parserr(&handle, ns_s_an, index, &rr) == 0 else {
                return .failure(Failure(reason: "answer record \(index + 1) does not parse", isTemporary: true))
            }
            guard swiftmta_ns_rr_type(&rr) == type.rawValue, swiftmta_ns_rr_class(&rr) == 1 else { continue }
            let length = Int(swiftmta_ns_rr_rdlen(&rr))
            guard let rdata = swiftmta_ns_rr_rdata(&rr) else { continue }
            let bytes = UnsafeBufferPointer(start: rdata, count: length)
            guard let record = decode(bytes, type: type, handle: &handle) else {
                return .failure(Failure(reason: "a \(type) record in the answer is malformed", isTemporary: false))
            }
            records.append(record)
            ttl = min(ttl, swiftmta_ns_rr_ttl(&rr))
        }
        if records.isEmpty {
            let negative = negativeTTLFromSOA(&handle) ?? negativeTTL
            return .success(DNSResponse(records: [], nameExists: true, isAuthenticated: authenticated, ttl: min(negative, maximumTTL)))
        }
        return .success(DNSResponse(records: records, nameExists: true, isAuthenticated: authenticated,
                                    ttl: min(.seconds(Int64(ttl)), maximumTTL)))
    }

    private static func decode(_ rdata: UnsafeBufferPointer<UInt8>, type: DNSRecordType, handle: inout ns_msg) -> DNSRecordData? {
        switch type {
        case .a:
            guard rdata.count == 4 else { return nil }
            return .address(rdata.map(String.init).joined(separator: "."))
        case .aaaa:
            guard rdata.count == 16 else { return nil }
            var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
            guard inet_ntop(AF_INET6, rdata.baseAddress, &text, socklen_t(text.count)) != nil else { return nil }
            return .address(String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        case .mx:
            guard rdata.count >= 3, let start = rdata.baseAddress else { return nil }
            let preference = UInt16(ns_get16(start))
            var name = [CChar](repeating: 0, count: Int(NS_MAXDNAME) + 1)
            let used = ns_name_uncompress(swiftmta_ns_msg_base(&handle), swiftmta_ns_msg_end(&handle), start + 2, &name, name.count)
            guard used > 0, Int(used) + 2 <= rdata.count else { return nil }
            var host = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if host.count > 1, host.hasSuffix(".") { host.removeLast() }
            if host.isEmpty { host = "." }
            return .mx(MXRecord(preference: preference, exchange: host))
        case .ptr:
            guard let start = rdata.baseAddress else { return nil }
            var name = [CChar](repeating: 0, count: Int(NS_MAXDNAME) + 1)
            let used = ns_name_uncompress(swiftmta_ns_msg_base(&handle), swiftmta_ns_msg_end(&handle), start, &name, name.count)
            guard used > 0, Int(used) <= rdata.count else { return nil }
            var host = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if host.count > 1, host.hasSuffix(".") { host.removeLast() }
            guard !host.isEmpty, host != "." else { return nil }
            return .name(host)
        case .txt:
            var text: [UInt8] = []
            var offset = 0
            while offset < rdata.count {
                let length = Int(rdata[offset])
                guard offset + 1 + length <= rdata.count else { return nil }
                text.append(contentsOf: rdata[(offset + 1)..<(offset + 1 + length)])
                offset += 1 + length
            }
            return .text(String(decoding: text, as: UTF8.self))
        case .tlsa:
            // Usage, selector and matching type, then the data (RFC 6698 §2.1); MailTLS reads the rest.
            guard rdata.count >= 3 else { return nil }
            return .tlsa(Array(rdata))
        }
    }

    /// The negative-caching TTL an SOA record in the authority section gives: the smaller of its
    /// TTL and its MINIMUM field (RFC 2308 §5).
    private static func negativeTTLFromSOA(_ handle: inout ns_msg) -> Duration? {
        let count = swiftmta_ns_msg_count(&handle, ns_s_ns)
        let end = swiftmta_ns_msg_end(&handle)
        for index in 0..<count {
            var rr = ns_rr()
            guard ns_parserr(&handle, ns_s_ns, index, &rr) == 0, swiftmta_ns_rr_type(&rr) == 6,
                  let rdata = swiftmta_ns_rr_rdata(&rr) else { continue }
            let rdataEnd = rdata + Int(swiftmta_ns_rr_rdlen(&rr))
            let mname = dn_skipname(rdata, end)
            guard mname > 0 else { continue }
            let rname = dn_skipname(rdata + Int(mname), end)
            guard rname > 0 else { continue }
            let fixed = rdata + Int(mname) + Int(rname)
            guard fixed + 20 <= rdataEnd else { continue }
            let minimum = ns_get32(fixed + 16)
            return .seconds(Int64(min(UInt(minimum), UInt(swiftmta_ns_rr_ttl(&rr)))))
        }
        return nil
    }
}

/// The resolver's own cache of decoded answers, bounded, by TTL.
final class DNSCache: Sendable {
    private let storage: TTLCache<DNSResponse>

    init(capacity: Int) {
        storage = TTLCache(capacity: capacity)
    }

    func response(for key: String) -> DNSResponse? {
        storage.value(for: key, now: .now)
    }

    func store(_ response: DNSResponse, for key: String) {
        storage.store(response, for: key, ttl: response.ttl, now: .now)
    }

    func removeAll() {
        storage.removeAll()
    }
}
