public import NIOCore

/// Prepares message text for DATA on the sending side (RFC 5321 §4.5.2): doubles a dot at the
/// start of a line, and ends the text with `CRLF.CRLF`.
///
/// Line ends are made canonical on the way: a bare LF or a bare CR becomes CRLF, so that this
/// side never sends the ambiguous sequences SMTP smuggling relies on. Feed the message in chunks of
/// any size with ``encode(_:into:)``; finish with ``finish(into:)``.
public struct SMTPDataEncoder: Sendable {
    private var atLineStart = true
    private var pendingCR = false

    /// An encoder at the start of the message text (a leading `.` is doubled).
    public init() {}

    /// Appends the encoded form of `chunk` to `output`.
    public mutating func encode(_ chunk: ByteBuffer, into output: inout ByteBuffer) {
        chunk.withUnsafeReadableBytes { bytes in
            var spanStart = 0
            for index in 0..<bytes.count {
                let byte = bytes[index]
                if pendingCR {
                    pendingCR = false
                    if byte == 0x0A {
                        // The CR was written; this LF completes CRLF.
                        output.writeInteger(UInt8(0x0A))
                        spanStart = index + 1
                        atLineStart = true
                        continue
                    }
                    // A bare CR: complete it.
                    output.writeInteger(UInt8(0x0A))
                    atLineStart = true
                }
                switch byte {
                case 0x0D:
                    output.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[spanStart..<index]))
                    output.writeInteger(UInt8(0x0D))
                    pendingCR = true
                    spanStart = index + 1
                case 0x0A:
                    // A bare LF.
                    output.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[spanStart..<index]))
                    output.writeStaticString("\r\n")
                    spanStart = index + 1
                    atLineStart = true
                case UInt8(ascii: ".") where atLineStart:
                    output.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[spanStart..<index]))
                    output.writeStaticString("..")
                    spanStart = index + 1
                    atLineStart = false
                default:
                    if atLineStart { atLineStart = false }
                }
            }
            output.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[spanStart..<bytes.count]))
        }
    }

    /// Ends the text: completes the last line if needed and writes the `.` line.
    public mutating func finish(into output: inout ByteBuffer) {
        if pendingCR {
            output.writeInteger(UInt8(0x0A))
            pendingCR = false
            atLineStart = true
        }
        if !atLineStart { output.writeStaticString("\r\n") }
        output.writeStaticString(".\r\n")
        atLineStart = true
    }
}
