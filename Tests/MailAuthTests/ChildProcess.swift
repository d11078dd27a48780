import Foundation
import TestSupport

/// Runs one test of this test bundle in a fresh process — for what happens once per process
/// (libsasl2's initialisation) — with `environment` added, and returns its exit status and output.
enum ChildProcess {
    /// The variable that tells a child test it is the child.
    static let marker = "SWIFTMTA_TEST_CHILD"

    static var isChild: Bool { ProcessInfo.processInfo.environment[marker] != nil }

    static func environment(_ name: String) -> String? {
        ProcessInfo.processInfo.environment[name]
    }

    /// Runs the test named `test` (a swift-testing filter) with `SWIFTMTA_TEST_CHILD` and
    /// `environment` set. Blocking: call it through `offThread`.
    static func run(test: String, environment: [String: String]) throws -> (status: Int32, output: String, crashed: Bool) {
        let bundle = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: bundle)
        process.arguments = ["--testing-library", "swift-testing", "--filter", test]
        var variables = ProcessInfo.processInfo.environment
        variables[marker] = "1"
        for (name, value) in environment { variables[name] = value }
        process.environment = variables
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self), process.terminationReason == .uncaughtSignal)
    }
}
