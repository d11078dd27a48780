/// The flags and operands of a map spec's name, Sendmail's `K`-line style: `-o -f /etc/mail/access`,
/// `-v mailRoutingAddress`, `-z,` (a flag's argument may follow it directly or as the next word).
public struct MailMapFlags: Hashable, Sendable {
    /// One flag, with its argument when it takes one.
    public struct Flag: Hashable, Sendable {
        /// The flag's letter (`o` for `-o`).
        public let letter: Character
        /// The argument, for flags that take one.
        public let argument: String?
    }

    /// The flags, in order.
    public let flags: [Flag]
    /// The words after the flags (a file name).
    public let operands: [String]

    /// Splits `spec`'s name into flags and operands.
    ///
    /// - Parameters:
    ///   - withArgument: the letters of flags that take an argument.
    ///   - withoutArgument: the letters of flags that take none.
    /// - Throws: ``MailMapError`` of kind `badSpec` naming an unknown flag or one whose argument
    ///   is missing.
    public init(
        _ spec: MailMapSpec, withArgument: Set<Character>, withoutArgument: Set<Character>
    ) throws(MailMapError) {
        let words = try spec.arguments()
        var flags: [Flag] = []
        var index = 0
        while index < words.count, words[index].hasPrefix("-"), words[index].count >= 2 {
            let word = words[index]
            let letter = word[word.index(after: word.startIndex)]
            let rest = String(word.dropFirst(2))
            if withArgument.contains(letter) {
                if !rest.isEmpty {
                    flags.append(Flag(letter: letter, argument: rest))
                } else if index + 1 < words.count {
                    index += 1
                    flags.append(Flag(letter: letter, argument: words[index]))
                } else {
                    throw MailMapError(.badSpec, map: spec.description,
                        message: "map spec \"\(spec)\": flag -\(letter) needs an argument")
                }
            } else if withoutArgument.contains(letter), rest.isEmpty {
                flags.append(Flag(letter: letter, argument: nil))
            } else {
                throw MailMapError(.badSpec, map: spec.description,
                    message: "map spec \"\(spec)\": unknown flag \(word) for a \(spec.type) map")
            }
            index += 1
        }
        self.flags = flags
        self.operands = Array(words[index...])
    }

    /// Whether `letter` was given.
    public func contains(_ letter: Character) -> Bool {
        flags.contains { $0.letter == letter }
    }

    /// The argument of the last `letter` flag, if given.
    public func argument(_ letter: Character) -> String? {
        flags.last { $0.letter == letter }?.argument
    }
}
