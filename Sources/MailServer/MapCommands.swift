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
    /// A line that does not parse is reported with its number and nothing is written, so the old
    /// map stays. Duplicate keys are reported, the map is written with the first of each (the
    /// last with `-r`), and the status is 65, as makemap does.
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
        let parser = MailMapTextParser(format: .table(delimiter: flags.delimiter), spec: "\(type):\(file)", source: "standard input")
        let entries: [MailMapTextParser.Entry]
        do {
            entries = try parser.entries(input)
        } catch {
            report("makemap: \(error.message); \(path) was not written")
            return ExitStatus.dataError
        }
        let options = BerkeleyDBMapWriter.Options(
            format: format, foldsCase: !flags.keepsCase, includesNUL: flags.includesNUL,
            appends: flags.appends, replacesDuplicates: flags.replacesDuplicates)
        do {
            let result = try BerkeleyDBMapWriter(path: path, options: options).write(entries)
            for duplicate in result.duplicates {
                report("makemap: standard input, line \(duplicate.line): key \(duplicate.key): duplicate key (the first is kept; -r replaces)")
            }
            return result.duplicates.isEmpty ? ExitStatus.success : ExitStatus.dataError
        } catch {
            report("makemap: \(error.message)")
            return ExitStatus.cannotCreate
        }
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
