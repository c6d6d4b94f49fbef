import Foundation

/// A parsed Prometheus text exposition (what `/metrics` serves), for assertions on names,
/// labels and values without regular expressions in every test.
public struct PrometheusText: Sendable, CustomStringConvertible {
    /// One sample line: `name{label="value",...} number`.
    public struct Sample: Sendable {
        public let name: String
        public let labels: [String: String]
        public let value: Double
    }

    public let text: String
    public let samples: [Sample]

    public init(_ text: String) {
        self.text = text
        samples = text.split(separator: "\n").compactMap { Self.parse(Substring($0)) }
    }

    public var description: String { text }

    /// Every metric name that has a sample, histograms' `_bucket`/`_sum`/`_count` included.
    public var names: Set<String> { Set(samples.map(\.name)) }

    /// The names declared with `# TYPE name type`, with their type.
    public var types: [String: String] {
        var out: [String: String] = [:]
        for line in text.split(separator: "\n") where line.hasPrefix("# TYPE ") {
            let parts = line.split(separator: " ")
            if parts.count >= 4 { out[String(parts[2])] = String(parts[3]) }
        }
        return out
    }

    /// Samples of `name` whose labels include every pair of `labels`.
    public func samples(_ name: String, _ labels: [String: String] = [:]) -> [Sample] {
        samples.filter { sample in
            sample.name == name && labels.allSatisfy { sample.labels[$0.key] == $0.value }
        }
    }

    /// The sum of the matching samples; nil when there is none.
    public func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        let matching = samples(name, labels)
        return matching.isEmpty ? nil : matching.reduce(0) { $0 + $1.value }
    }

    /// Every value the label `label` takes on samples of `name`.
    public func labelValues(_ name: String, _ label: String) -> Set<String> {
        Set(samples(name).compactMap { $0.labels[label] })
    }

    private static func parse(_ line: Substring) -> Sample? {
        guard let first = line.first, first != "#" else { return nil }
        let nameEnd = line.firstIndex { $0 == "{" || $0 == " " } ?? line.endIndex
        let name = String(line[..<nameEnd])
        var labels: [String: String] = [:]
        var rest = line[nameEnd...]
        if rest.first == "{" {
            guard let close = rest.lastIndex(of: "}") else { return nil }
            var body = rest[rest.index(after: rest.startIndex)..<close]
            while let eq = body.firstIndex(of: "=") {
                let key = body[..<eq].trimmingCharacters(in: [",", " "])
                var value = ""
                var index = body.index(after: eq)
                guard index < body.endIndex, body[index] == "\"" else { return nil }
                index = body.index(after: index)
                while index < body.endIndex, body[index] != "\"" {
                    if body[index] == "\\", body.index(after: index) < body.endIndex {
                        index = body.index(after: index)
                    }
                    value.append(body[index])
                    index = body.index(after: index)
                }
                labels[key] = value
                body = index < body.endIndex ? body[body.index(after: index)...] : body[body.endIndex...]
            }
            rest = rest[rest.index(after: close)...]
        }
        guard let number = rest.split(separator: " ").first, let value = Double(number) else { return nil }
        return Sample(name: name, labels: labels, value: value)
    }
}
