import Foundation
import MailServer
import Testing
import TestSupport

@Suite("docs/configuration.md")
struct ConfigurationReferenceTests {
    @Test("describes every key the reader accepts, each as `table.key`")
    func everyKeyDocumented() throws {
        let reference = try String(contentsOfFile: "\(ExternalTool.repositoryRoot)/docs/configuration.md", encoding: .utf8)
        var missing: [String] = []
        for (table, keys) in ConfigurationKeys.tables {
            for key in keys {
                let name = table.isEmpty ? key : "\(table).\(key)"
                if !reference.contains("- `\(name)`") && !(table.isEmpty && reference.contains("`\(key)`")) { missing.append(name) }
            }
        }
        #expect(missing.isEmpty, "not in docs/configuration.md: \(missing)")
    }

    @Test("the embedded default shown there is the one the server runs")
    func embeddedDefaultShown() throws {
        let reference = try String(contentsOfFile: "\(ExternalTool.repositoryRoot)/docs/configuration.md", encoding: .utf8)
        let body = SwiftMTAConfiguration.embeddedDefaultText.split(separator: "\n", omittingEmptySubsequences: false).dropFirst().joined(separator: "\n")
        #expect(reference.contains(body.trimmingCharacters(in: .whitespacesAndNewlines)))
    }
}
