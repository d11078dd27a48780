import MailServer
import Testing

@Suite("The [queue] section of the configuration")
struct QueueSettingsTests {
    @Test("Without [queue]: /var/spool/swiftmta, 5m to 4h retries, warn after 4h, return after 5d")
    func defaults() throws {
        let configuration = try SwiftMTAConfiguration.parse("hostname = \"mx.example.test\"\n", file: "/etc/swiftmta/swiftmta.toml")
        #expect(configuration.queue == QueueSettings())
        #expect(configuration.queue.directory == "/var/spool/swiftmta")
        #expect(configuration.queue.queueWarn == .seconds(4 * 3600))
        #expect(configuration.queue.queueReturn == .seconds(5 * 86400))
    }

    @Test("The embedded default keeps its spool under ./var/spool")
    func embedded() throws {
        let configuration = try SwiftMTAConfiguration.parse("", file: "<embedded default>")
        // Resolved against the working directory, as every path of the embedded default is.
        #expect(configuration.queue.directory.hasPrefix("/") && configuration.queue.directory.hasSuffix("/var/spool"))
    }

    @Test("Every key is read; a relative directory is taken from the file's folder")
    func keys() throws {
        let configuration = try SwiftMTAConfiguration.parse("""
            [queue]
            directory = "spool"
            min_queue_age = "10m"
            max_queue_age = "2h"
            queuewarn = "1h30m"
            queuereturn = "3d"
            """, file: "/etc/swiftmta/swiftmta.toml", directory: "/etc/swiftmta")
        #expect(configuration.queue == QueueSettings(
            directory: "/etc/swiftmta/spool", minQueueAge: .seconds(600), maxQueueAge: .seconds(7200),
            queueWarn: .seconds(5400), queueReturn: .seconds(3 * 86400)))
    }

    @Test("Mistakes name the key and the line", arguments: [
        ("[queue]\nqueuewarn = \"4 hours\"\n", "queue.queuewarn", 2),
        ("[queue]\ndirectory = \"/x\"\nqueue_return = \"5d\"\n", "queue.queue_return", 3),
        ("[queue]\nmin_queue_age = \"2h\"\nmax_queue_age = \"1h\"\n", "queue.max_queue_age", 3),
        ("[queue]\ndirectory = 5\n", "queue.directory", 2),
        ("[queue]\nqueuereturn = \"0s\"\n", "queue.queuereturn", 2),
    ] as [(String, String, Int)])
    func mistakes(text: String, key: String, line: Int) {
        #expect {
            _ = try SwiftMTAConfiguration.parse(text, file: "/etc/swiftmta/swiftmta.toml")
        } throws: { error in
            guard let error = error as? ConfigurationError else { return false }
            return error.key == key && error.line == line
        }
    }
}
