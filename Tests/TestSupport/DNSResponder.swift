import Foundation
import Synchronization

/// A small DNS responder on a free loopback UDP port, for what dnsmasq cannot do without a signed
/// zone: answer with the AD bit set (RFC 4035 §3.2.3), as a validating resolver does, or clear.
///
/// It answers every query for a name it was given with that name's records of the type asked
/// (NOERROR, possibly with no records), and NXDOMAIN for any other name. The records are raw RDATA;
/// the answer's header copies the query's ID and RD bit and sets QR, AA, RA and (when asked to) AD.
/// It runs on a thread of its own until ``stop()`` or deinit.
public final class DNSResponder: @unchecked Sendable {
    /// One resource record to serve: its type (52 for TLSA) and its RDATA.
    public struct Record: Sendable {
        public let type: UInt16
        public let rdata: [UInt8]

        public init(type: UInt16, rdata: [UInt8]) {
            self.type = type
            self.rdata = rdata
        }
    }

    public let port: Int
    private let descriptor: Int32
    private let records: [String: [Record]]
    private let authenticatedData: Bool
    private let stopped = Atomic<Bool>(false)
    private let served = Atomic<Int>(0)
    private let finished = DispatchSemaphore(value: 0)

    /// Starts answering: `records` by owner name (`_25._tcp.mx.example.test`, no trailing dot,
    /// any case), with the AD bit set on every answer when `authenticatedData`.
    public init(records: [String: [Record]], authenticatedData: Bool) throws {
        self.records = Dictionary(records.map { ($0.key.lowercased(), $0.value) }, uniquingKeysWith: +)
        self.authenticatedData = authenticatedData
        let descriptor = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard descriptor >= 0 else { throw TestSupportError("socket: \(String(cString: strerror(errno)))") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) }
        }
        guard bound == 0 else {
            close(descriptor)
            throw TestSupportError("bind: \(String(cString: strerror(errno)))")
        }
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        self.descriptor = descriptor
        self.port = Int(UInt16(bigEndian: address.sin_port))
        let thread = Thread { [self] in serve() }
        thread.stackSize = 1 << 20
        thread.start()
    }

    deinit {
        stop()
        close(descriptor)
    }

    /// `127.0.0.1:port`, as a nameserver setting.
    public var address: String { "127.0.0.1:\(port)" }

    /// How many queries were answered.
    public var queriesAnswered: Int { served.load(ordering: .relaxed) }

    /// Stops answering and waits for the thread to end.
    public func stop() {
        guard !stopped.exchange(true, ordering: .acquiringAndReleasing) else { return }
        finished.wait()
    }

    private func serve() {
        defer { finished.signal() }
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !stopped.load(ordering: .acquiring) {
            var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 50) > 0 else { continue }
            var peer = sockaddr_storage()
            var peerLength = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let count = withUnsafeMutablePointer(to: &peer) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    recvfrom(descriptor, &buffer, buffer.count, 0, $0, &peerLength)
                }
            }
            guard count > 0, let reply = answer(Array(buffer[..<count])) else { continue }
            // Counted before it is sent, so that a client that has the answer sees the count.
            served.add(1, ordering: .relaxed)
            _ = withUnsafePointer(to: &peer) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(descriptor, reply, reply.count, 0, $0, peerLength)
                }
            }
        }
    }

    /// The response to `query`, or `nil` for something that is not a one-question query.
    private func answer(_ query: [UInt8]) -> [UInt8]? {
        guard query.count >= 12, query[2] & 0x80 == 0, query[4] == 0, query[5] == 1 else { return nil }
        var offset = 12
        var labels: [String] = []
        while offset < query.count {
            let length = Int(query[offset])
            offset += 1
            if length == 0 { break }
            guard length < 64, offset + length <= query.count else { return nil }
            labels.append(String(decoding: query[offset..<(offset + length)], as: UTF8.self))
            offset += length
        }
        guard offset + 4 <= query.count else { return nil }
        let questionEnd = offset + 4
        let type = UInt16(query[offset]) << 8 | UInt16(query[offset + 1])
        let name = labels.joined(separator: ".").lowercased()
        let known = records[name]
        let matching = known?.filter { $0.type == type } ?? []

        var reply = Array(query[0..<2])
        // QR, the query's opcode and RD, AA; then RA, AD when asked, and the response code.
        reply.append(0x80 | (query[2] & 0x79) | 0x04)
        reply.append(0x80 | (authenticatedData ? 0x20 : 0) | (known == nil ? 3 : 0))
        reply += [0, 1, UInt8(matching.count >> 8), UInt8(matching.count & 0xff), 0, 0, 0, 0]
        reply += query[12..<questionEnd]
        for record in matching {
            reply += [0xC0, 0x0C, UInt8(record.type >> 8), UInt8(record.type & 0xff), 0, 1, 0, 0, 0, 60]
            reply += [UInt8(record.rdata.count >> 8), UInt8(record.rdata.count & 0xff)]
            reply += record.rdata
        }
        return reply
    }
}
