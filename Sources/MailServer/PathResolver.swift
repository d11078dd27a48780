import MailMaps

/// Resolves the relative paths of a configuration against the folder of its file, so that a
/// configuration means the same whatever the working directory of `swiftmta` is.
struct PathResolver {
    /// The folder, absolute.
    let directory: String

    /// The map types whose name ends in a file path (after any `-o`, `-f`, … flags).
    static let fileMapTypes: Set<String> = ["text", "list", "aliases", "hash", "btree"]

    /// `path` when it is absolute, otherwise `directory/path`.
    func resolve(_ path: String) -> String {
        guard !path.hasPrefix("/"), !path.isEmpty else { return path }
        var components: [Substring] = directory.split(separator: "/")
        for component in path.split(separator: "/") {
            switch component {
            case ".": continue
            case "..": if !components.isEmpty { components.removeLast() }
            default: components.append(component)
            }
        }
        return "/" + components.joined(separator: "/")
    }

    /// The spec with its file operand resolved: `text:access` becomes `text:/etc/swiftmta/access`;
    /// `sequence:` specs have each of their maps resolved; other types are left as they are.
    func resolve(spec: MailMapSpec) throws(MailMapError) -> MailMapSpec {
        if spec.type == "sequence" {
            guard let items = BraceList.items(spec.name, requireBraces: false) else { return spec }
            var resolved: [String] = []
            for item in items { resolved.append("{ " + (try resolve(spec: MailMapSpec(item)).description) + " }") }
            return MailMapSpec(type: spec.type, name: "{ " + resolved.joined(separator: ", ") + " }")
        }
        guard Self.fileMapTypes.contains(spec.type) else { return spec }
        var words = try spec.arguments()
        guard let last = words.last, !last.hasPrefix("-"), !last.hasPrefix("/") else { return spec }
        words[words.count - 1] = resolve(last)
        let name = words.map { word in
            word.contains(" ") || word.contains("\"") || word.contains("\\")
                ? "\"" + word.replacingOccurrences("\\", "\\\\").replacingOccurrences("\"", "\\\"") + "\"" : word
        }.joined(separator: " ")
        return MailMapSpec(type: spec.type, name: name)
    }
}

extension String {
    /// Every occurrence of `target` replaced by `replacement` (no Foundation in this module).
    func replacingOccurrences(_ target: String, _ replacement: String) -> String {
        guard !target.isEmpty else { return self }
        var result = ""
        var rest = Substring(self)
        while let range = rest.firstRange(of: target) {
            result += rest[..<range.lowerBound]
            result += replacement
            rest = rest[range.upperBound...]
        }
        return result + rest
    }
}
