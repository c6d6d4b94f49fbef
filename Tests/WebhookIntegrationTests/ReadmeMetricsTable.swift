import Foundation

/// The metrics table of README.md ("| metric | type | labels |"), read so that a test checks
/// every name and label value the README promises, and keeps checking as the table grows.
struct ReadmeMetricsTable {
    struct Row {
        let names: [String]
        let type: String
        /// Label name → the values the README lists (empty when it lists none).
        let labels: [String: [String]]
        /// Served by the bridge (`webhook-worker ingest`) rather than by a worker.
        let bridge: Bool
    }

    let rows: [Row]

    init(readme: String) {
        var rows: [Row] = []
        var inTable = false
        for line in readme.split(separator: "\n", omittingEmptySubsequences: false) {
            let text = line.trimmingCharacters(in: .whitespaces)
            if text.hasPrefix("| metric | type | labels |") { inTable = true; continue }
            guard inTable else { continue }
            guard text.hasPrefix("|") else { break }
            if text.hasPrefix("|---") { continue }
            let columns = text.split(separator: "|", omittingEmptySubsequences: false)
                .map { $0.trimmingCharacters(in: .whitespaces) }
            guard columns.count >= 4 else { continue }
            let labelsColumn = columns[3]
            rows.append(Row(names: Self.backticked(columns[1]), type: columns[2],
                            labels: Self.labels(labelsColumn), bridge: labelsColumn.contains("bridge")))
        }
        self.rows = rows
    }

    /// Reads README.md of this checkout.
    static func load() throws -> ReadmeMetricsTable {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        return ReadmeMetricsTable(readme: try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8))
    }

    private static func backticked(_ text: String) -> [String] {
        text.split(separator: "`", omittingEmptySubsequences: false).enumerated()
            .filter { $0.offset % 2 == 1 }.map { String($0.element) }
    }

    /// "`outcome` (a, b), `status_class` (c; d for ...)" → ["outcome": [a, b], "status_class": [c, d]].
    private static func labels(_ text: String) -> [String: [String]] {
        var out: [String: [String]] = [:]
        var rest = Substring(text)
        while let open = rest.firstIndex(of: "`") {
            let afterOpen = rest.index(after: open)
            guard let close = rest[afterOpen...].firstIndex(of: "`") else { break }
            let name = String(rest[afterOpen..<close])
            rest = rest[rest.index(after: close)...]
            var values: [String] = []
            let trimmed = rest.drop { $0 == " " }
            if trimmed.first == "(", let end = trimmed.firstIndex(of: ")") {
                let inside = trimmed[trimmed.index(after: trimmed.startIndex)..<end]
                if inside.trimmingCharacters(in: .whitespaces) != "bridge" {
                    values = inside.split(whereSeparator: { $0 == "," || $0 == ";" }).compactMap { piece in
                        let word = piece.drop { $0 == " " }.prefix { $0.isLetter || $0.isNumber || $0 == "_" }
                        return word.isEmpty ? nil : String(word)
                    }
                }
                rest = trimmed[trimmed.index(after: end)...]
            }
            out[name] = values
        }
        return out
    }
}
