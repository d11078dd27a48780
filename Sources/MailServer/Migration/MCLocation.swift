/// Where something in a `sendmail.mc` (or a file it includes) is: the file and the line, as m4
/// itself names it in its messages (`sendmail.mc:12`).
package struct MCLocation: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The file as it was named (the .mc as given on the command line, an include as written).
    package var file: String
    /// The line, from 1.
    package var line: Int

    package init(file: String, line: Int) {
        self.file = file
        self.line = line
    }

    /// `file:line`.
    package var description: String { "\(file):\(line)" }

    package static func < (lhs: MCLocation, rhs: MCLocation) -> Bool {
        lhs.file == rhs.file ? lhs.line < rhs.line : lhs.file < rhs.file
    }
}
