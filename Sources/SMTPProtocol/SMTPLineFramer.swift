public import NIOCore

/// Splits an incoming byte stream into SMTP lines ended by CRLF, and nothing else.
///
/// A bare LF, or a CR not followed by LF, never ends a line (RFC 5321 §2.3.8); such bytes stay in
/// the line and the caller decides (a command parser refuses them). A line longer than the limit
/// is reported once as ``Event/lineTooLong(octets:)`` and its bytes are discarded up to the next
/// CRLF, so memory stays bounded however long the peer keeps sending.
///
/// Feed bytes with ``append(_:)`` and take lines with ``next()`` until it returns `nil`
/// ("need more bytes"). Bytes already returned are released as new ones arrive, so the memory a
/// framer holds is bounded by the line limit and the size of one delivery, however long the
/// stream (``bufferCapacity`` measures it).
public struct SMTPLineFramer: Sendable {
    /// What the framer found next.
    public enum Event: Hashable, Sendable {
        /// A complete line, without its CRLF.
        case line(ByteBuffer)
        /// A line exceeded the limit; it was dropped up to and including its CRLF.
        /// `octets` counts what was dropped, CRLF included.
        case lineTooLong(octets: Int)
    }

    /// The longest line accepted, CRLF included.
    public var maximumLineLength: Int

    private var buffer = ByteBuffer()
    /// Bytes of an overlong line already thrown away, while its CRLF has not been seen yet.
    private var discarding: Int?
    /// The first octets (at most 16) of the line last reported as too long: a server tells an
    /// overlong BDAT command by them, whose chunk it can no longer find.
    public private(set) var overlongLineStart: [UInt8] = []

    /// A framer with nothing buffered, accepting lines of at most `maximumLineLength` octets, CRLF
    /// included (RFC 5321 §4.5.3.1.4 for commands: 512). The limit is not checked.
    public init(maximumLineLength: Int) {
        self.maximumLineLength = maximumLineLength
    }

    /// Adds received bytes.
    public mutating func append(_ bytes: ByteBuffer) {
        Self.append(bytes, to: &buffer)
    }

    /// Adds `bytes` to `buffer`, releasing the bytes already read from it first once they are as
    /// many as those still unread: what `buffer` holds stays within twice what is unread plus
    /// the new bytes, however many have passed through it.
    public static func append(_ bytes: ByteBuffer, to buffer: inout ByteBuffer) {
        guard buffer.readableBytes > 0 else {
            buffer = bytes
            return
        }
        if buffer.readerIndex > 0, buffer.readerIndex >= buffer.readableBytes {
            buffer.discardReadBytes()
        }
        var bytes = bytes
        buffer.writeBuffer(&bytes)
    }

    /// Bytes received but not yet returned as part of a line.
    public var bufferedByteCount: Int { buffer.readableBytes }

    /// The octets of storage the framer holds (capacity, not content): what a memory bound is
    /// measured by.
    public var bufferCapacity: Int { buffer.storageCapacity }

    /// Takes the buffered bytes that are not yet part of a line, leaving the framer empty.
    /// STARTTLS uses it to find (and refuse) plaintext sent after the command.
    public mutating func takeBufferedBytes() -> ByteBuffer {
        defer {
            buffer.clear()
            discarding = nil
        }
        return buffer
    }

    /// The next complete line, or an overlong-line report; `nil` when more bytes are needed.
    public mutating func next() -> Event? {
        var pending = buffer
        buffer = ByteBuffer()
        defer { buffer = pending.readableBytes == 0 ? ByteBuffer() : pending }
        return next(from: &pending)
    }

    /// The next line from a buffer the caller owns (the server state machine reads lines, DATA
    /// text and BDAT chunks from one buffer). Consumed bytes are removed from `buffer`; an overlong
    /// line without its CRLF yet is discarded as it grows.
    public mutating func next(from buffer: inout ByteBuffer) -> Event? {
        let view = buffer.readableBytesView
        guard let crlf = Self.firstCRLF(in: view) else {
            // No line end yet: bound what is kept.
            if buffer.readableBytes > maximumLineLength {
                if discarding == nil { overlongLineStart = Array(view.prefix(16)) }
                // Keep a trailing CR: it may start the CRLF of this line.
                let keep = view.last == UInt8(ascii: "\r") ? 1 : 0
                let dropped = buffer.readableBytes - keep
                buffer.moveReaderIndex(forwardBy: dropped)
                buffer.discardReadBytes()
                discarding = (discarding ?? 0) + dropped
            }
            return nil
        }
        let length = crlf - view.startIndex
        if let dropped = discarding {
            buffer.moveReaderIndex(forwardBy: length + 2)
            discarding = nil
            return .lineTooLong(octets: dropped + length + 2)
        }
        if length + 2 > maximumLineLength {
            overlongLineStart = Array(view.prefix(16))
            buffer.moveReaderIndex(forwardBy: length + 2)
            return .lineTooLong(octets: length + 2)
        }
        let line = buffer.readSlice(length: length)!
        buffer.moveReaderIndex(forwardBy: 2)
        return .line(line)
    }

    /// Forgets an overlong line in progress (the caller is about to read the buffer differently).
    public mutating func reset() {
        discarding = nil
    }

    static func firstCRLF(in view: ByteBufferView) -> ByteBufferView.Index? {
        var index = view.startIndex
        while let cr = view[index...].firstIndex(of: UInt8(ascii: "\r")) {
            let next = view.index(after: cr)
            if next == view.endIndex { return nil }
            if view[next] == UInt8(ascii: "\n") { return cr }
            index = next
        }
        return nil
    }
}
