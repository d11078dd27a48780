import MailMaps
import MailMapsBerkeleyDB
import MailMapsLDAP
import MailSystem
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The work of `swiftmta makemap` and `swiftmta map query|dump`; the executable only parses
/// arguments and exits with the status these return.
public enum MapCommands {
    /// `makemap`'s flags, as Sendmail's makemap spells them.
    public struct MakemapFlags: Sendable {
        /// `-f`: do not fold keys to lower case.
        public var keepsCase = false
        /// `-N`: store keys and values with a trailing NUL.
        public var includesNUL = false
        /// `-o`: add to the existing map instead of replacing it.
        public var appends = false
        /// `-r`: a later entry for a key replaces the earlier one.
        public var replacesDuplicates = false
        /// `-t C`: keys end at `C` instead of at white space.
        public var delimiter: Character?
        /// Read the input as Postfix's postmap does: a line that starts with white space continues
        /// the entry above it, and any bad line leaves the map unwritten. Without it the input is
        /// read as Sendmail's makemap reads it (`makemapEntries(_:delimiter:)`).
        public var postmapInput = false

        /// No flags: makemap's defaults.
        public init() {}
    }

    /// Exit statuses, from sysexits(3) as Sendmail's makemap uses them.
    public enum ExitStatus {
        /// Done.
        public static let success: Int32 = 0
        /// `map query`: the key is not in the map.
        public static let notFound: Int32 = 1
        /// `map query`, `map dump`: the map could not be opened or read.
        public static let mapError: Int32 = 2
        /// Bad arguments.
        public static let usage: Int32 = 64
        /// Bad input lines, or duplicate keys (the map was written, first entries kept).
        public static let dataError: Int32 = 65
        /// The map file could not be written.
        public static let cannotCreate: Int32 = 73
    }

    /// `swiftmta makemap TYPE FILE < text`: reads `key value` lines on standard input and writes
    /// the Berkeley DB map `FILE` (`FILE.db` unless it ends in `.db`), replacing it atomically.
    ///
    /// The input is read as Sendmail's makemap reads it (`makemapEntries(_:delimiter:)`): a bad
    /// line (one that starts with white space, a key without a value) is reported with its number
    /// and skipped, the good lines are written, and the status is 65. Duplicate keys are reported,
    /// the map is written with the first of each (the last with `-r`), and the status is 65, as
    /// makemap does. With ``MakemapFlags/postmapInput`` the input is read as postmap reads it
    /// (continuation lines), and a bad line leaves the old map as it was.
    public static func makemap(type: String, file: String, flags: MakemapFlags) -> Int32 {
        guard let format = BerkeleyDBMap.Format(rawValue: type.lowercased()) else {
            report("makemap: unknown map type \"\(type)\" (expected hash or btree)")
            return ExitStatus.usage
        }
        let path = BerkeleyDBMap.databasePath(for: file)
        let input: [UInt8]
        do {
            input = try BoundedFile.readStandardInput(limit: 1 << 30)
        } catch {
            report("makemap: \(error)")
            return ExitStatus.dataError
        }
        var entries: [MailMapTextParser.Entry]
        var badLines = false
        if flags.postmapInput {
            let parser = MailMapTextParser(format: .table(delimiter: flags.delimiter), spec: "\(type):\(file)", source: "standard input")
            do {
                entries = try parser.entries(input)
            } catch {
                report("makemap: \(error.message); \(path) was not written")
                return ExitStatus.dataError
            }
        } else {
            let read = makemapEntries(input, delimiter: flags.delimiter)
            entries = read.entries
            for problem in read.problems {
                report("makemap: standard input, line \(problem.line): \(problem.message)")
            }
            badLines = !read.problems.isEmpty
        }
        let options = BerkeleyDBMapWriter.Options(
            format: format, foldsCase: !flags.keepsCase, includesNUL: flags.includesNUL,
            appends: flags.appends, replacesDuplicates: flags.replacesDuplicates)
        do {
            let result = try BerkeleyDBMapWriter(path: path, options: options).write(entries)
            for duplicate in result.duplicates {
                report("makemap: standard input, line \(duplicate.line): key \(duplicate.key): duplicate key (the first is kept; -r replaces)")
            }
            return result.duplicates.isEmpty && !badLines ? ExitStatus.success : ExitStatus.dataError
        } catch {
            report("makemap: \(error.message)")
            return ExitStatus.cannotCreate
        }
    }

    /// A line makemap does not take.
    struct InputProblem: Hashable, Sendable {
        /// The line, from 1.
        var line: Int
        /// What is wrong, as makemap says it.
        var message: String
    }

    /// The entries of makemap input, read as Sendmail 8.17's makemap reads them, and the lines it
    /// refuses: blank lines and lines starting with `#` are skipped; a line starting with white
    /// space is a syntax error (it is no continuation); the key ends at the first white space
    /// (or at `delimiter`, `-t`) and the value is the rest without its leading white space; a key
    /// without a value is an error; a NUL byte or text that is not UTF-8 is an error. Refused
    /// lines are skipped, the others kept. A line's CR before its LF is dropped.
    static func makemapEntries(_ input: [UInt8], delimiter: Character?) -> (entries: [MailMapTextParser.Entry], problems: [InputProblem]) {
        var entries: [MailMapTextParser.Entry] = []
        var problems: [InputProblem] = []
        var lineNumber = 0
        for rawLine in input.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            var line = rawLine[...]
            if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
            if line.isEmpty || line.first == UInt8(ascii: "#") { continue }
            if line.first == UInt8(ascii: " ") || line.first == UInt8(ascii: "\t") {
                if line.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }) { continue }
                problems.append(InputProblem(line: lineNumber, message: "syntax error (leading space); the line is skipped (--postmap-input reads it as a continuation)"))
                continue
            }
            if line.contains(0) {
                problems.append(InputProblem(line: lineNumber, message: "contains a NUL byte; the line is skipped"))
                continue
            }
            guard let text = String(validating: Array(line), as: UTF8.self) else {
                problems.append(InputProblem(line: lineNumber, message: "is not valid UTF-8; the line is skipped"))
                continue
            }
            let keyEnd = delimiter.map { d in text.firstIndex(of: d) } ?? text.firstIndex { $0 == " " || $0 == "\t" }
            let key = String(text[..<(keyEnd ?? text.endIndex)])
            var value = keyEnd.map { String(text[text.index(after: $0)...]) } ?? ""
            while value.first == " " || value.first == "\t" { value.removeFirst() }
            guard !value.isEmpty else {
                problems.append(InputProblem(line: lineNumber, message: "no value for the key \(key) (makemap: no RHS for LHS); the line is skipped"))
                continue
            }
            entries.append(MailMapTextParser.Entry(key: key, value: value, line: lineNumber))
        }
        return (entries, problems)
    }

    /// `swiftmta map query SPEC KEY`: prints the value and returns 0; returns 1 when the key is
    /// not found, 2 (with the reason on standard error) when the map cannot be opened or read.
    public static func query(spec: String, key: String, nameservers: [String] = []) async -> Int32 {
        do {
            let map = try await RoutingSetup.registry(nameservers: nameservers).open(spec)
            guard let value = try await map.lookup(key) else { return ExitStatus.notFound }
            print(value)
            fflush(nil)
            return ExitStatus.success
        } catch {
            report("map query: \(error.message)")
            return ExitStatus.mapError
        }
    }

    /// `swiftmta map dump SPEC`: prints every entry as `key<TAB>value`, as `makemap -u` does;
    /// returns 2 with the reason when the map cannot be opened, read, or listed (LDAP, DNS).
    public static func dump(spec: String, nameservers: [String] = []) async -> Int32 {
        do {
            let map = try await RoutingSetup.registry(nameservers: nameservers).open(spec)
            guard let listable = map as? any ListableMailMap else {
                report("map dump: \(spec): a \(spec.prefix { $0 != ":" }) map cannot be listed, only queried")
                return ExitStatus.mapError
            }
            for entry in try await listable.entries() {
                print("\(entry.key)\t\(entry.value)")
            }
            fflush(nil)
            return ExitStatus.success
        } catch {
            report("map dump: \(error.message)")
            return ExitStatus.mapError
        }
    }

    private static func report(_ message: String) {
        fflush(nil)
        var line = Array("swiftmta \(message)\n".utf8)
        var offset = 0
        while offset < line.count {
            let written = line[offset...].withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
            guard written > 0 else { break }
            offset += written
        }
        line.removeAll()
    }
}
