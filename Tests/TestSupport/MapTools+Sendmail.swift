import Foundation

extension MapTools {
    /// `makemap FLAGS TYPE FILE < text`, with makemap's flags (`-N`, `-f`, `-o`, `-r`).
    public static func makemap(_ type: String, flags: [String], text: String, output: String) throws {
        try ExternalTool.runChecked("makemap", flags + [type, output], input: text)
    }

    /// `makemap -u TYPE FILE`: Sendmail's listing of a map, as (key, value) pairs in file order.
    public static func makemapDump(_ type: String, file: String, flags: [String] = []) throws -> [(key: String, value: String)] {
        let output = try ExternalTool.runChecked("makemap", ["-u"] + flags + [type, file])
        return output.standardOutput.split(separator: "\n").map { line in
            let parts = line.split(separator: "\t", maxSplits: 1, omittingEmptySubsequences: false)
            return (String(parts[0]), parts.count > 1 ? String(parts[1]) : "")
        }
    }
}
