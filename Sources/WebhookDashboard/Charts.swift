/// Inline SVG charts: no script, no library, no request beyond the page itself.
public enum Charts {
    /// A bar per minute: `successes` stacked under `failures`, oldest first, scaled to the
    /// largest minute. Each bar has a `<title>` (hover shows its counts).
    public static func minuteBars(successes: [Int], failures: [Int], width: Int = 720, height: Int = 140) -> HTML {
        let count = max(successes.count, failures.count, 1)
        let peak = max(1, zip(successes, failures).map { $0 + $1 }.max() ?? 1)
        let slot = Double(width) / Double(count)
        let barWidth = max(1, slot - 2)
        var bars: [HTML] = []
        for index in 0..<count {
            let ok = index < successes.count ? successes[index] : 0
            let failed = index < failures.count ? failures[index] : 0
            let x = format(Double(index) * slot + 1)
            let okHeight = Double(height - 14) * Double(ok) / Double(peak)
            let failHeight = Double(height - 14) * Double(failed) / Double(peak)
            let okY = Double(height) - okHeight
            let minutesAgo = count - 1 - index
            let label = "\(minutesAgo == 0 ? "this minute" : "\(minutesAgo) min ago"): \(ok) delivered, \(failed) failed"
            bars.append("""
                <g><title>\(label)</title>\
                <rect class="ok" x="\(x)" y="\(format(okY))" width="\(format(barWidth))" height="\(format(okHeight))"/>\
                <rect class="fail" x="\(x)" y="\(format(okY - failHeight))" width="\(format(barWidth))" height="\(format(failHeight))"/></g>
                """)
        }
        return """
            <svg class="chart" viewBox="0 0 \(width) \(height)" width="\(width)" height="\(height)" role="img" \
            aria-label="deliveries per minute, last hour (peak \(peak))">\
            <text x="2" y="10" class="axis">\(peak)/min</text>\(bars)</svg>
            """
    }

    /// A small line of `values` (oldest first), for a table cell.
    public static func sparkline(_ values: [Int], width: Int = 120, height: Int = 24, label: String) -> HTML {
        guard values.count > 1 else { return .empty }
        let peak = max(1, values.max() ?? 1)
        let step = Double(width) / Double(values.count - 1)
        let points = values.enumerated().map { index, value in
            "\(format(Double(index) * step)),\(format(Double(height - 1) - Double(height - 2) * Double(value) / Double(peak)))"
        }.joined(separator: " ")
        return """
            <svg class="spark" viewBox="0 0 \(width) \(height)" width="\(width)" height="\(height)" role="img" aria-label="\(label)">\
            <title>\(label)</title><polyline points="\(points)"/></svg>
            """
    }

    static func format(_ value: Double) -> String {
        let rounded = (value * 10).rounded() / 10
        return rounded == rounded.rounded() ? String(Int(rounded)) : String(rounded)
    }
}
