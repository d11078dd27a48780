public import MailMaps

extension MailMapRegistry {
    /// Adds `hash:` and `btree:` (``BerkeleyDBMap``).
    ///
    /// As Sendmail and Postfix name them, `hash:/etc/mail/access` is the file
    /// `/etc/mail/access.db`; a name already ending in `.db` is taken as it is. Flags before the
    /// name: `-o` (optional: a missing file is an empty map), `-f` (keep case), `-N` (keys end in
    /// NUL), `-O` (keys have no NUL), `-T<TMPF>` (accepted, see
    /// ``MailMapRegistry/fileOperand(of:moreFlags:)``); `hash:-o /etc/mail/virtusertable`.
    public mutating func registerBerkeleyDB() {
        for format in BerkeleyDBMap.Format.allCases {
            register(format.rawValue) { (spec, registry) throws(MailMapError) -> any MailMap in
                let (name, options) = try registry.fileOperand(of: spec, moreFlags: ["N", "O"])
                let flags = try MailMapFlags(spec, withArgument: ["T"], withoutArgument: ["o", "f", "N", "O"])
                let keys: BerkeleyDBMap.KeyConvention = flags.contains("N") ? .withNUL : flags.contains("O") ? .withoutNUL : .both
                return try BerkeleyDBMap(
                    path: BerkeleyDBMap.databasePath(for: name), format: format, options: options, keys: keys,
                    threadPool: registry.threadPool, spec: spec.description)
            }
        }
    }
}

extension BerkeleyDBMap {
    /// The file a map name stands for: `name.db`, or `name` when it already ends in `.db`
    /// (the rule of makemap, Sendmail's `K` lines and Postfix's `hash:` tables).
    public static func databasePath(for name: String) -> String {
        name.hasSuffix(".db") ? name : name + ".db"
    }
}
