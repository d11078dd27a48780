/// How a file map reads its file: case folding, whether the file may be missing, how often it is
/// checked for changes, and how large it may be.
///
/// In a spec these are Sendmail's map flags before the file name: `-f` keeps case
/// (``foldsCase`` off), `-o` makes the map optional (``isOptional``): `hash:-o /etc/mail/virtusertable`.
public struct MailMapOptions: Hashable, Sendable {
    /// Whether keys are folded to lower case, when the map is read and at each lookup (Sendmail
    /// and Postfix fold by default; Sendmail's `-f` turns it off).
    public var foldsCase: Bool
    /// Whether a missing file is an empty map rather than an error (Sendmail's `-o`, "optional").
    /// A file that exists but cannot be read is an error all the same.
    public var isOptional: Bool
    /// How often a lookup checks whether the file changed (its inode, size or modification time)
    /// and reads it again; `.zero` checks at every lookup.
    public var reloadInterval: Duration
    /// The largest text file read into memory, in bytes: a larger one is an error, not unbounded
    /// memory. Default 64 MiB.
    public var maximumFileSize: Int

    /// Options with Sendmail's defaults: fold case, file required, checked every second, 64 MiB.
    public init(
        foldsCase: Bool = true,
        isOptional: Bool = false,
        reloadInterval: Duration = .seconds(1),
        maximumFileSize: Int = 64 << 20
    ) {
        self.foldsCase = foldsCase
        self.isOptional = isOptional
        self.reloadInterval = reloadInterval
        self.maximumFileSize = maximumFileSize
    }

    /// These options changed by the flags `-f` and `-o` of `flags`.
    public func applying(_ flags: MailMapFlags) -> MailMapOptions {
        var options = self
        if flags.contains("f") { options.foldsCase = false }
        if flags.contains("o") { options.isOptional = true }
        return options
    }

    /// `key` as the map stores it: ASCII letters lower-cased when ``foldsCase`` is on.
    public func fold(_ key: String) -> String {
        foldsCase ? Self.asciiLowercased(key) : key
    }

    /// `text` with its ASCII letters lower-cased and everything else as it is: the folding of
    /// Sendmail's makemap and of Postfix's lowercase(), so that keys of maps they built match.
    public static func asciiLowercased(_ text: String) -> String {
        let utf8 = text.utf8
        let isUpper: (UInt8) -> Bool = { $0 &- UInt8(ascii: "A") < 26 }
        let hasUpper = utf8.withContiguousStorageIfAvailable { $0.contains(where: isUpper) } ?? utf8.contains(where: isUpper)
        guard hasUpper else { return text }
        return String(unsafeUninitializedCapacity: utf8.count) { buffer in
            var count = 0
            for byte in utf8 {
                buffer[count] = byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
                count += 1
            }
            return count
        }
    }
}
