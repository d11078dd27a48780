// libFuzzer target for MailAuth's parsers: DIGEST-MD5 directive lists (RFC 2831 §7.1), SCRAM
// attribute lists and names (RFC 5802 §7), base64 and hexadecimal. Built by `make fuzz-auth`
// from the parser sources themselves (they need nothing but the standard library):
//
//   swiftc -sanitize=fuzzer,address -parse-as-library <parser sources> FuzzParsers.swift
//
// Beyond "no crash, no leak, no overflow" it checks round trips: what the directive encoder writes
// parses back to the same directives, and base64 decoding accepts only canonical text.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzParsers(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))

    if let directives = try? DigestMD5Directives(parsing: bytes) {
        var encoder = DigestMD5Directives()
        for entry in directives.entries { encoder.append(entry.name, quoted: entry.value) }
        guard let again = try? DigestMD5Directives(parsing: encoder.encoded) else {
            fatalError("encoded directives do not parse")
        }
        guard again.entries.count == directives.entries.count,
            zip(again.entries, directives.entries).allSatisfy({ $0.name == $1.name && $0.value == $1.value })
        else { fatalError("directives do not round-trip") }
    }

    if let attributes = try? SCRAMAttributes(parsing: bytes) {
        for entry in attributes.entries {
            if let name = SCRAMAttributes.decodeName(entry.value) {
                let text = String(decoding: name, as: UTF8.self)
                if Array(text.utf8) == name, SCRAMAttributes.decodeName(SCRAMAttributes.encodeName(text)) != name {
                    fatalError("saslname does not round-trip")
                }
            }
        }
    }

    if let decoded = Base64.decode(bytes), Array(Base64.encode(decoded).utf8) != bytes {
        fatalError("base64 accepted a non-canonical encoding")
    }
    if let octets = Bytes.unhex(bytes), Bytes.unhex(Array(Bytes.hex(octets).utf8)) != octets {
        fatalError("hex does not round-trip")
    }
    return 0
}
