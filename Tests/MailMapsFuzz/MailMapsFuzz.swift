// libFuzzer target for MailMaps' parsers, compiled into the module with its sources so that the
// internal DNS response reader is reachable (`make fuzz-maps`; not a SwiftPM target).
//
// The first byte picks the parser; the rest is the input. Every parser must return or throw a
// MailMapError: a crash, a hang or unbounded memory is a bug.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMailMaps(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let selector = data[0]
    let bytes = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    let text = String(decoding: bytes, as: UTF8.self)
    switch selector % 8 {
    case 0:
        _ = try? MailMapTextParser(format: .table(delimiter: nil), spec: "fuzz", source: "fuzz").entries(bytes)
    case 1:
        _ = try? MailMapTextParser(format: .aliases, spec: "fuzz", source: "fuzz").entries(bytes)
        _ = try? MailMapTextParser(format: .list, spec: "fuzz", source: "fuzz").entries(bytes)
        _ = try? MailMapTextParser(format: .table(delimiter: ":"), spec: "fuzz", source: "fuzz").entries(bytes)
    case 2:
        if let spec = try? MailMapSpec(text) {
            _ = try? spec.arguments()
            _ = try? MailMapFlags(spec, withArgument: ["R", "B", "z", "k", "v"], withoutArgument: ["o", "f", "1"])
            _ = try? DNSMap(spec: spec, resolver: DNSResolver())
        }
    case 3:
        _ = try? InlineMap(text)
        _ = BraceList.items(text, requireBraces: false)
    case 4:
        _ = MailMapKeys.addressAndNetworks(text)
        _ = MailMapKeys.dnsblName(for: text, zone: "zen.example")
        _ = MailMapKeys.domainAndParents(text)
        _ = MailMapKeys.domainSuffixes(text, includingRoot: true)
        _ = MailMapKeys.wildcardPart(of: text, matching: ".lan")
        _ = MailMapOptions.asciiLowercased(text)
    default:
        let types: [DNSRecordType] = [.a, .mx, .txt, .aaaa, .tlsa]
        bytes.withUnsafeBytes { buffer in
            _ = DNSMessageParser.parse(
                buffer, type: types[Int(selector) % types.count], maximumTTL: .seconds(3600),
                negativeTTL: .seconds(60), trustsAuthenticatedData: selector & 0x80 != 0)
        }
    }
    return 0
}
