/// The difference between two lists of lines, as `diff -u` shows it without its headers: lines
/// only in the expected list start with `-`, lines only in the actual one with `+`, and up to
/// three unchanged lines around each change with a space.
struct LineDifference {
    let lines: [String]

    init(expected: [String], actual: [String]) {
        enum Edit { case same(String), removed(String), added(String) }
        var edits: [Edit] = []
        // Longest common subsequence; transcripts are small, and a long one falls back to a
        // line-by-line comparison.
        if expected.count * actual.count <= 4_000_000 {
            let n = expected.count, m = actual.count
            var table = [[Int]](repeating: [Int](repeating: 0, count: m + 1), count: n + 1)
            for i in stride(from: n - 1, through: 0, by: -1) {
                for j in stride(from: m - 1, through: 0, by: -1) {
                    table[i][j] = expected[i] == actual[j] ? table[i + 1][j + 1] + 1 : max(table[i + 1][j], table[i][j + 1])
                }
            }
            var i = 0, j = 0
            while i < n || j < m {
                if i < n, j < m, expected[i] == actual[j] {
                    edits.append(.same(expected[i])); i += 1; j += 1
                } else if j < m, i == n || table[i][j + 1] >= table[i + 1][j] {
                    edits.append(.added(actual[j])); j += 1
                } else {
                    edits.append(.removed(expected[i])); i += 1
                }
            }
        } else {
            for index in 0..<max(expected.count, actual.count) {
                let left = index < expected.count ? expected[index] : nil
                let right = index < actual.count ? actual[index] : nil
                if left == right, let left { edits.append(.same(left)); continue }
                if let left { edits.append(.removed(left)) }
                if let right { edits.append(.added(right)) }
            }
        }
        let changed = edits.indices.filter { if case .same = edits[$0] { return false } else { return true } }
        var shown: [String] = []
        var last = -1
        for index in edits.indices {
            guard changed.contains(where: { abs($0 - index) <= 3 }) else { continue }
            if last >= 0, index > last + 1 { shown.append("@@") }
            last = index
            switch edits[index] {
            case .same(let line): shown.append(" " + line)
            case .removed(let line): shown.append("-" + line)
            case .added(let line): shown.append("+" + line)
            }
        }
        lines = shown
    }
}
