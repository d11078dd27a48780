package import MailSystem

/// Reads a PEM file whole with MailSystem's bounded reader, turning an unreadable file into a
/// ``TLSConfigurationError`` that names it.
package enum PEMFile {
    /// The largest PEM file read: a certificate chain or a key is a few kilobytes; a CA bundle a few
    /// hundred. Anything larger is refused rather than read into memory.
    package static let maximumSize = 16 * 1024 * 1024

    /// The file's bytes in one buffer that is overwritten with zeros when released (a private key's
    /// PEM must not linger in freed memory). The buffer is sized from `fstat` and the file read
    /// straight into it, so no partial copy is left behind by a growing array or a read chunk.
    package static func read(_ path: String, what: String) throws(TLSConfigurationError) -> PEMBuffer {
        do {
            return try BoundedFile.readWiping(path, limit: maximumSize)
        } catch {
            throw TLSConfigurationError(unreadable: error, what: what)
        }
    }
}

/// Bytes read from a PEM file, in memory that is zeroed before it is freed.
package typealias PEMBuffer = WipingBuffer

extension WipingBuffer {
    /// Whether the contents contain `word` (ASCII).
    func contains(_ word: String) -> Bool {
        let needle = Array(word.utf8)
        return withUnsafeBytes { bytes in
            guard !needle.isEmpty, bytes.count >= needle.count else { return false }
            for start in 0...(bytes.count - needle.count) where bytes[start] == needle[0] {
                if bytes[start..<(start + needle.count)].elementsEqual(needle) { return true }
            }
            return false
        }
    }
}
