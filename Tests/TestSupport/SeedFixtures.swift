import Foundation

/// The tables of the seed documents, from `../shared/fixtures` beside the repository.
public enum SeedFixtures {
    /// The fixtures folder.
    public static var directory: String {
        URL(fileURLWithPath: ExternalTool.repositoryRoot).deletingLastPathComponent()
            .appendingPathComponent("shared/fixtures").path
    }

    /// The path of `name` (`seed-talk/access`).
    public static func path(_ name: String) -> String {
        (directory as NSString).appendingPathComponent(name)
    }

    /// The contents of `name`.
    public static func text(_ name: String) throws -> String {
        try String(contentsOfFile: path(name), encoding: .utf8)
    }
}
