import Foundation
import MailServer
import Testing
import TestSupport

/// The built `swiftmta` as an administrator first meets it: the version, an unknown command,
/// help with examples, and the generated reference kept in step with the parser.
@Suite("swiftmta: version, unknown commands, help, the reference")
struct OperationsCommandLineTests {
    static var executable: String { ServeProcess.executable }

    @Test("--version prints the version")
    func version() async throws {
        let result = try await ExternalTool.runChecked(Self.executable, ["--version"])
        #expect(result.standardOutput == ServerCommandLine.version + "\n")
    }

    @Test("an unknown command is an error naming the known ones, at every level", arguments: [
        (["rout", "x"], "unknown command 'rout' (did you mean 'route'?); the commands are serve, auth, check-config"),
        (["frobnicate"], "unknown command 'frobnicate'; the commands are serve, auth"),
        (["auth", "ad", "alice"], "unknown auth command 'ad' (did you mean 'add'?); the auth commands are add, list, remove"),
        (["map", "qeury", "hash:x", "k"], "unknown map command 'qeury' (did you mean 'query'?); the map commands are query, dump"),
        (["help", "servr"], "unknown command 'servr' (did you mean 'serve'?)"),
    ])
    func unknownCommand(arguments: [String], message: String) async throws {
        let result = try await ExternalTool.run(Self.executable, arguments)
        #expect(result.status == 64)
        #expect(result.standardError.contains(message), "\(result.standardError)")
        #expect(result.standardOutput == "")
    }

    @Test("per-command help ends with examples", arguments: [
        (["serve", "--help"], "swiftmta serve --config /etc/swiftmta/swiftmta.toml"),
        (["help", "auth", "add"], "swiftmta auth add alice"),
        (["check-config", "-h"], "swiftmta check-config /etc/swiftmta/swiftmta.toml"),
        (["route", "--help"], "swiftmta route --config swiftmta.toml alice@example.org"),
    ])
    func helpWithExamples(arguments: [String], example: String) async throws {
        let result = try await ExternalTool.runChecked(Self.executable, arguments)
        let output = result.standardOutput
        #expect(output.contains("USAGE: swiftmta "))
        let examples = try #require(output.range(of: "\nEXAMPLES:\n"), "\(output)")
        #expect(output[examples.upperBound...].contains("  \(example)\n"), "\(output)")
    }

    @Test("the committed reference and manual page are what the parser generates, every command with examples", arguments: [
        ("--reference", "docs/swiftmta.md"),
        ("--reference=man", "contrib/man/swiftmta.8"),
    ])
    func referenceIsCurrent(option: String, file: String) async throws {
        let generated = try await ExternalTool.runChecked(Self.executable, [option]).standardOutput
        let committed = try String(contentsOfFile: "\(ExternalTool.repositoryRoot)/\(file)", encoding: .utf8)
        #expect(generated == committed, "\(file) is out of date: regenerate it with .build/debug/swiftmta \(option) > \(file)")
        // Every command's section has its examples.
        let heading = option == "--reference" ? "\n## " : "\n.SH "
        let sections = generated.components(separatedBy: heading).dropFirst().filter {
            $0.hasPrefix("swiftmta") || $0.hasPrefix("OVERVIEW") || $0.hasPrefix("\"SWIFTMTA ")
        }
        #expect(sections.count >= 15)
        for section in sections {
            #expect(section.contains(option == "--reference" ? "Examples:" : ".SS Examples"), "no examples in \(section.prefix(60))")
        }
    }

    @Test("the manual page renders without a warning")
    func manualPageRenders() async throws {
        let result = try await ExternalTool.run("groff", ["-man", "-Tutf8", "-ww", "-z", "\(ExternalTool.repositoryRoot)/contrib/man/swiftmta.8"])
        #expect(result.status == 0)
        #expect(result.standardError == "")
    }
}
