import Foundation
import MailMaps
import MailMapsBerkeleyDB
import MailSystem
import Testing
import TestSupport

/// The seed talk's access table, with a mixed-case key and an ERROR: value added.
private let accessText = """
    localhost\tRELAY
    real-time.com\tRELAY
    206.10.252\tRELAY
    206.10.253\tRELAY
    uu.net\tRELAY
    ca.uu.net\tRELAY
    chicago.il.uu.net\tRELAY
    Mixed.Case.Example\tREJECT
    spam.example\tERROR:"550 5.7.1 We do not accept mail from you"

    """

private func registry() -> MailMapRegistry {
    var registry = MailMapRegistry.standard
    registry.registerBerkeleyDB()
    return registry
}

@Suite("Berkeley DB maps built by makemap and postmap")
struct BerkeleyDBMapTests {
    @Test("makemap and postmap files give the same answers", arguments: BerkeleyDBMap.Format.allCases)
    func bothConventions(format: BerkeleyDBMap.Format) throws {
        let directory = try TemporaryDirectory()
        let makemapFile = directory.file("makemap-access.db")
        try MapTools.makemap(format.rawValue, text: accessText, output: makemapFile)
        let textFile = try directory.write("postmap-access", accessText)
        try MapTools.postmap(format.rawValue, textFile: textFile)

        let sendmail = try BerkeleyDBMap(path: makemapFile, format: format)
        let postfix = try BerkeleyDBMap(path: textFile + ".db", format: format)
        for map in [sendmail, postfix] {
            #expect(try map.value(forKey: "real-time.com") == "RELAY")
            #expect(try map.value(forKey: "206.10.252") == "RELAY")
            #expect(try map.value(forKey: "chicago.il.uu.net") == "RELAY")
            #expect(try map.value(forKey: "spam.example") == "ERROR:\"550 5.7.1 We do not accept mail from you\"")
            // Both tools fold keys to lower case when building; lookups fold too.
            #expect(try map.value(forKey: "REAL-TIME.COM") == "RELAY")
            #expect(try map.value(forKey: "mixed.case.example") == "REJECT")
            #expect(try map.value(forKey: "il.uu.net") == nil)
            #expect(try map.value(forKey: "") == nil)
        }
        #expect(sendmail.spec == "\(format.rawValue):\(makemapFile)")
    }

    @Test("postmap -q reads back what makemap wrote")
    func postmapReadsMakemap() throws {
        let directory = try TemporaryDirectory()
        let file = directory.file("access.db")
        try MapTools.makemap("hash", text: accessText, output: file)
        // Postfix, like BerkeleyDBMap, tries the key with and without its trailing NUL.
        #expect(try MapTools.postmapQuery("real-time.com", type: "hash", file: directory.file("access")) == "RELAY")
        #expect(try BerkeleyDBMap(path: file, format: .hash).value(forKey: "real-time.com") == "RELAY")
    }

    @Test("the async lookup and search answer like the synchronous one, on the pool")
    func asyncLookup() async throws {
        let directory = try TemporaryDirectory()
        let file = directory.file("access.db")
        try MapTools.makemap("hash", text: accessText, output: file)
        let map: any MailMap = try BerkeleyDBMap(path: file, format: .hash)
        #expect(try await map.lookup("uu.net") == "RELAY")
        #expect(try await map.lookup("example.org") == nil)
        let search = await map.search(MailMapKeys.domainAndParents("host.chicago.il.uu.net"))
        #expect(search.probes.map(\.key) == ["host.chicago.il.uu.net", "chicago.il.uu.net"])
        #expect(search.match?.value == "RELAY")
        let network = await map.search(MailMapKeys.addressAndNetworks("206.10.252.103"))
        #expect(network.match?.key == "206.10.252")
    }

    @Test("the registry opens hash: and btree: names as Sendmail does: NAME.db")
    func registryNames() async throws {
        let directory = try TemporaryDirectory()
        try MapTools.makemap("btree", text: accessText, output: directory.file("access.db"))
        let plain = try await registry().open("btree:\(directory.file("access"))")
        #expect(plain.spec == "btree:\(directory.file("access"))")
        #expect(try await plain.lookup("localhost") == "RELAY")
        let explicit = try await registry().open("btree:\(directory.file("access.db"))")
        #expect(try await explicit.lookup("localhost") == "RELAY")
        #expect(registry().types == ["aliases", "btree", "dns", "hash", "inline", "list", "passwd", "sequence", "text"])
    }

    @Test("-o: a missing file is an empty map; -f keeps case; -N and -O pick one key form")
    func specFlags() async throws {
        let directory = try TemporaryDirectory()
        let missing = try await registry().open("hash:-o \(directory.file("virtusertable"))")
        #expect(try await missing.lookup("cfandre@mn-linux.org") == nil)

        // Debian's K line for the access map, as an administrator copies it: -T<TMPF> is accepted.
        try MapTools.makemap("hash", text: "Connect:192.0.2.1 RELAY\n", output: directory.file("access.db"))
        let debian = try await registry().open("hash:-T<TMPF> -o \(directory.file("access"))")
        #expect(try await debian.lookup("Connect:192.0.2.1") == "RELAY")
        let joined = try await registry().open("hash:-T <TMPF> \(directory.file("access"))")
        #expect(try await joined.lookup("Connect:192.0.2.1") == "RELAY")

        try MapTools.makemap("hash", flags: ["-f"], text: "Mixed.Example KEPT\n", output: directory.file("cased.db"))
        let cased = try await registry().open("hash:-f \(directory.file("cased"))")
        #expect(try await cased.lookup("Mixed.Example") == "KEPT")
        #expect(try await cased.lookup("mixed.example") == nil)

        try MapTools.makemap("hash", flags: ["-N"], text: "withnul.example YES\n", output: directory.file("nul.db"))
        #expect(try await registry().open("hash:-N \(directory.file("nul"))").lookup("withnul.example") == "YES")
        #expect(try await registry().open("hash:-O \(directory.file("nul"))").lookup("withnul.example") == nil)
    }

    @Test("entries list the whole map")
    func entries() async throws {
        let directory = try TemporaryDirectory()
        try MapTools.makemap("btree", text: accessText, output: directory.file("access.db"))
        let map = try BerkeleyDBMap(path: directory.file("access.db"), format: .btree)
        let entries = try await map.entries()
        #expect(entries.count == 9)
        #expect(entries.map(\.key) == entries.map(\.key).sorted())
        #expect(entries.first { $0.key == "mixed.case.example" }?.value == "REJECT")
    }

    @Test("a missing file is an error naming it")
    func missingFile() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("absent.db")
        let error = #expect(throws: MailMapError.self) { try BerkeleyDBMap(path: path, format: .hash) }
        #expect(error?.kind == .unreadable)
        #expect(error?.message.contains(path) == true)
        #expect(error?.message.contains("No such file") == true)
    }

    @Test("a corrupt or foreign file is an error, not a crash", arguments: [
        ("text file", Data("localhost RELAY\n".utf8)),
        ("zeros", Data(count: 8192)),
        ("random bytes", Data((0..<16384).map { UInt8(truncatingIfNeeded: $0 &* 7919 &+ 13) })),
        ("empty", Data()),
    ])
    func corruptFile(name: String, contents: Data) throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("corrupt.db")
        try contents.write(to: URL(fileURLWithPath: path))
        let error = #expect(throws: MailMapError.self) { try BerkeleyDBMap(path: path, format: .hash) }
        #expect(error?.kind == .malformed, "\(name): \(String(describing: error))")
        #expect(error?.message.contains(path) == true)
    }

    @Test("a truncated makemap file is an error, not a crash")
    func truncatedFile() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("access.db")
        try MapTools.makemap("hash", text: accessText, output: path)
        let whole = try Data(contentsOf: URL(fileURLWithPath: path))
        try whole.prefix(100).write(to: URL(fileURLWithPath: path))
        #expect(throws: MailMapError.self) { try BerkeleyDBMap(path: path, format: .hash) }
    }

    @Test("a hash file opened as btree is an error")
    func wrongFormat() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("access.db")
        try MapTools.makemap("hash", text: accessText, output: path)
        let error = #expect(throws: MailMapError.self) { try BerkeleyDBMap(path: path, format: .btree) }
        #expect(error?.kind == .malformed)
    }
}

@Suite("Berkeley DB maps rewritten while open")
struct BerkeleyDBReloadTests {
    @Test("makemap rewriting the file in place: the next lookup sees the new map")
    func inPlaceRewrite() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("access.db")
        try MapTools.makemap("hash", text: "a.example OK\n", output: path)
        let map = try BerkeleyDBMap(path: path, format: .hash, options: MailMapOptions(reloadInterval: .milliseconds(200)))
        #expect(try await map.lookup("a.example") == "OK")
        // makemap waits for the map's shared lock (released by the reaper once the lease runs
        // out), then rewrites the same inode.
        let started = ContinuousClock.now
        try await offThread { try MapTools.makemap("hash", text: "a.example REJECT\nb.example RELAY\n", output: path) }
        // A hang guard, not a speed figure: the lease runs out in well under a second, but a
        // loaded machine (several test runs at once) can take many seconds to schedule makemap.
        #expect(ContinuousClock.now - started < .seconds(120))
        try await Task.sleep(for: .milliseconds(250))
        #expect(try await map.lookup("a.example") == "REJECT")
        #expect(try await map.lookup("b.example") == "RELAY")
    }

    @Test("postmap rewriting the file in place: the next lookup sees the new map")
    func postmapRewrite() async throws {
        let directory = try TemporaryDirectory()
        let text = try directory.write("access", "a.example OK\n")
        try MapTools.postmap("hash", textFile: text)
        let map = try BerkeleyDBMap(path: text + ".db", format: .hash, options: MailMapOptions(reloadInterval: .zero))
        #expect(try await map.lookup("a.example") == "OK")
        try directory.write("access", "a.example DISCARD\n")
        try await offThread { try MapTools.postmap("hash", textFile: text) }
        #expect(try await map.lookup("a.example") == "DISCARD")
    }

    @Test("a lookup waits for a writer holding the lock, and fails when it holds it too long")
    func writerHoldsLock() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("access.db")
        try MapTools.makemap("hash", text: "a.example OK\n", output: path)
        let map = try BerkeleyDBMap(path: path, format: .hash, options: MailMapOptions(reloadInterval: .zero),
                                    lockTimeout: .milliseconds(300))
        #expect(try await map.lookup("a.example") == "OK")

        let writer = open(path, O_RDONLY)
        defer { close(writer) }
        // Blocks until the reaper gives up the map's lease: off Swift's cooperative threads.
        #expect(try await offThread { flock(writer, LOCK_EX) } == 0)
        let error = await #expect(throws: MailMapError.self) { try await map.lookup("a.example") }
        #expect(error?.kind == .unavailable)
        #expect(error?.message.contains("is locked by a program rewriting it") == true, "\(String(describing: error))")
        flock(writer, LOCK_UN)
        #expect(try await map.lookup("a.example") == "OK")
    }

    @Test("a file that turns corrupt fails lookups with an error until it is fixed")
    func corruptedLater() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("access.db")
        try MapTools.makemap("hash", text: "a.example OK\n", output: path)
        let map = try BerkeleyDBMap(path: path, format: .hash, options: MailMapOptions(reloadInterval: .zero))
        #expect(try await map.lookup("a.example") == "OK")
        try Data("garbage\n".utf8).write(to: URL(fileURLWithPath: path))
        let error = await #expect(throws: MailMapError.self) { try await map.lookup("a.example") }
        #expect(error?.kind == .malformed)
        try FileManager.default.removeItem(atPath: path)
        let gone = await #expect(throws: MailMapError.self) { try await map.lookup("a.example") }
        #expect(gone?.kind == .unreadable)
        try MapTools.makemap("hash", text: "a.example FIXED\n", output: path)
        #expect(try await map.lookup("a.example") == "FIXED")
    }
}

@Suite("lookups run on the map's thread pool, not the caller's thread")
struct BerkeleyDBPoolTests {
    @Test("a lookup waits while the pool's only thread is busy, and answers once it is free")
    func usesPool() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("access.db")
        try MapTools.makemap("hash", text: "a.example OK\n", output: path)
        let pool = WorkerPool(.init(name: "bdb-test", threads: 1, queueLimit: 4, deadline: .seconds(30)))
        defer { pool.shutdown() }
        let map = try BerkeleyDBMap(path: path, format: .hash, threadPool: pool)

        let gate = DispatchSemaphore(value: 0)
        let answered = AnsweredFlag()
        let busy = Task { try await pool.run { gate.wait() } }
        try await Task.sleep(for: .milliseconds(100))
        let lookup = Task {
            let value = try await map.lookup("a.example")
            answered.set()
            return value
        }
        try await Task.sleep(for: .milliseconds(300))
        #expect(!answered.isSet, "the lookup answered while the pool's only thread was busy")
        gate.signal()
        try await busy.value
        #expect(try await lookup.value == "OK")
    }
}

/// Set once, read from any thread.
private final class AnsweredFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.withLock { value = true } }
    var isSet: Bool { lock.withLock { value } }
}
