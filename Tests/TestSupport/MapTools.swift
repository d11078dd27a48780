import Foundation

/// Sendmail's makemap and Postfix's postmap, run on files in a test's temporary directory.
public enum MapTools {
    /// `makemap TYPE FILE.db < text`: Sendmail's way (keys stored without a trailing NUL).
    public static func makemap(_ type: String, text: String, output: String) throws {
        try ExternalTool.runChecked("makemap", [type, output], input: text)
    }

    /// `postmap TYPE:FILE`: Postfix's way (keys and values stored with a trailing NUL). postmap
    /// writes `FILE.db` beside the text file. A private main.cf lets it run without Postfix installed.
    public static func postmap(_ type: String, textFile: String) throws {
        let configuration = try postfixConfigurationDirectory()
        guard FileManager.default.isExecutableFile(atPath: postmapPath) else {
            throw TestSupportError("\(postmapPath) is missing (run scripts/bootstrap)")
        }
        try ExternalTool.runChecked(
            postmapPath, ["-c", configuration, "\(type):\(textFile)"], environment: ExternalTool.postfixEnvironment)
    }

    /// `postmap -q KEY TYPE:FILE`: the value, or `nil` when postmap finds nothing (exit 1).
    public static func postmapQuery(_ key: String, type: String, file: String) throws -> String? {
        let configuration = try postfixConfigurationDirectory()
        let output = try ExternalTool.run(
            postmapPath, ["-c", configuration, "-q", key, "\(type):\(file)"], environment: ExternalTool.postfixEnvironment)
        switch output.status {
        case 0: return output.standardOutput.trimmingCharacters(in: .newlines)
        case 1: return nil
        default: throw TestSupportError("postmap -q \(key) \(type):\(file) failed: \(output.standardError)")
        }
    }

    public static var postmapPath: String { "\(ExternalTool.postfixRoot)/usr/sbin/postmap" }

    /// A directory with a main.cf naming users and groups every Debian system has.
    private static func postfixConfigurationDirectory() throws -> String {
        let directory = (NSTemporaryDirectory() as NSString).appendingPathComponent("swiftmta-postfix-config")
        let file = (directory as NSString).appendingPathComponent("main.cf")
        if !FileManager.default.fileExists(atPath: file) {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let contents = "mail_owner = daemon\ndefault_privs = nobody\nsetgid_group = mail\ncompatibility_level = 3.6\n"
            try Data(contents.utf8).write(to: URL(fileURLWithPath: file), options: .atomic)
        }
        return directory
    }
}
