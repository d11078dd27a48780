import ArgumentParser
import Dispatch
import MailServer
#if canImport(Glibc)
import Glibc
#endif

/// What happens before the argument parser runs a command:
///
/// - a word where a command belongs that names none is an error naming the known ones (the
///   default command, serve, takes no words, so `swiftmta rout x` would otherwise be taken for
///   serve's arguments);
/// - `--help`, `-h` and `help COMMAND` print the parser's help followed by the command's examples;
/// - `--reference[=markdown|man]` prints the reference of every command;
/// - called through a link named `sendmail` or `mailq`, the binary is Sendmail's command line.
///
/// The main thread only waits: the command runs on the concurrency pool. An `async` main would
/// let the main thread end (dispatch_main(3) exits it) before `swiftmta serve` switches users,
/// and an exited thread keeps its credentials — the process would still show, and be signalled,
/// as root (/proc/PID/status) after the switch, which glibc applies to every living thread.
extension SwiftMTA {
    static func main() {
        let done = DispatchSemaphore(value: 0)
        Task.detached {
            await run(Array(CommandLine.arguments.dropFirst()))
            done.signal()
        }
        done.wait()
    }

    static func run(_ arguments: [String]) async {
        let name = String(CommandLine.arguments.first?.split(separator: "/").last ?? "swiftmta")
        if name == "sendmail" || name == "mailq" {
            Glibc.exit(await SendmailCommandLine.run(arguments: arguments, invokedAs: name))
        }
        if let first = arguments.first, first == "--reference" || first.hasPrefix("--reference=") {
            let name = first == "--reference" ? "markdown" : String(first.dropFirst("--reference=".count))
            guard arguments.count == 1, let format = CommandReference.Format(rawValue: name) else {
                exit(withError: ValidationError("--reference takes markdown or man, like --reference=man, and nothing else"))
            }
            print(CommandReference.render(format), terminator: "")
            return
        }
        let words = arguments.prefix { $0 != "--" }
        let helpRequested = words.first == "help" || words.contains("--help") || words.contains("-h")
        let path = words.first == "help" ? Array(words.dropFirst()) : Array(words)
        var command: any ParsableCommand.Type = SwiftMTA.self
        var names: [String] = []
        for word in path {
            if word.hasPrefix("-") { break }
            let subcommands = command.configuration.subcommands
            if subcommands.isEmpty { break }
            if let next = subcommands.first(where: { $0._commandName == word || $0.configuration.aliases.contains(word) }) {
                command = next
                names.append(word)
                continue
            }
            // Only the root has a default command (serve), and serve takes no words.
            guard command.configuration.defaultSubcommand == nil || command == SwiftMTA.self else { break }
            exit(withError: ValidationError(unknownCommand(word, in: command, path: names)))
        }
        if helpRequested {
            print(SwiftMTA.helpMessage(for: command))
            let examples = CommandExamples.table[names.joined(separator: " ")] ?? []
            if !examples.isEmpty {
                print("\nEXAMPLES:")
                for example in examples {
                    print("  \(example.command)")
                    print("      \(example.explanation)")
                }
            }
            return
        }
        do {
            var parsed = try parseAsRoot(arguments)
            if var asynchronous = parsed as? any AsyncParsableCommand {
                try await asynchronous.run()
            } else {
                try parsed.run()
            }
        } catch {
            exit(withError: error)
        }
    }

    /// "unknown command 'rout' (did you mean 'route'?); the commands are serve, auth, …".
    static func unknownCommand(_ word: String, in command: any ParsableCommand.Type, path: [String]) -> String {
        let known = command.configuration.subcommands.map { $0._commandName }
        let group = path.isEmpty ? "" : path.joined(separator: " ") + " "
        let close = known.filter { distance(word.lowercased(), $0) <= ($0.count >= 4 ? 2 : 1) || $0.hasPrefix(word.lowercased()) }
        let suggestion = close.isEmpty ? "" : " (did you mean \(close.map { "'\($0)'" }.joined(separator: " or "))?)"
        return "unknown \(group)command '\(word)'\(suggestion); the \(group)commands are \(known.joined(separator: ", ")) (swiftmta help \(group)COMMAND for one's help)"
    }

    /// The Levenshtein distance of two words.
    static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        guard !a.isEmpty, !b.isEmpty else { return max(a.count, b.count) }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}
