/// A string as a double-quoted literal with `"`, `\` and control characters escaped: the same
/// text is a JSON string (RFC 8259 §7) and a TOML basic string (TOML 1.0 §String), which share
/// these escapes (`\"`, `\\`, `\n`, `\r`, `\t`, `\uXXXX`); DEL is escaped too, as TOML requires.
/// For `--json` output and for the configuration files `import-mc` writes.
enum QuotedString {
    static func literal(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    let hex = String(scalar.value, radix: 16, uppercase: true)
                    result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    result.unicodeScalars.append(scalar)
                }
            }
        }
        return result + "\""
    }
}
