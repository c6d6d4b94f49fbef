import Foundation

/// The frame around every page: navigation, the stylesheet, and the refresh that keeps the
/// pages current without script (`<meta http-equiv="refresh">`).
public struct Layout: Sendable {
    /// The navigation's pages.
    public enum Section: String, Sendable, CaseIterable {
        case overview = "/", endpoints = "/endpoints", deliveries = "/deliveries", dead = "/dead"

        var title: String {
            switch self {
            case .overview: return "Overview"
            case .endpoints: return "Endpoints"
            case .deliveries: return "Deliveries"
            case .dead: return "Dead letters"
            }
        }
    }

    /// Shows the sign-out button (token mode).
    public var signOut: Bool
    /// The CSRF token for the sign-out form.
    public var csrf: String

    public init(signOut: Bool, csrf: String) {
        self.signOut = signOut
        self.csrf = csrf
    }

    /// A whole page.
    /// - Parameter refresh: seconds between reloads; nil for pages with a form to fill in.
    public func page(title: String, section: Section?, refresh: Int?, _ body: HTML) -> HTML {
        let nav = Section.allCases.map { item -> HTML in
            "<a href=\"\(item.rawValue)\"\(item == section ? (" class=\"active\"" as HTML) : .empty)>\(item.title)</a>"
        }
        let signOutForm: HTML = signOut ? """
            <form class="inline" method="post" action="/logout"><input type="hidden" name="\(DashboardAuth.csrfField)" value="\(csrf)">\
            <button type="submit">Sign out</button></form>
            """ : .empty
        return Layout.document(title: title, refresh: refresh, """
            <header><span class="brand">webhook-worker</span><nav>\(nav)</nav>\(signOutForm)</header>
            <main>\(body)</main>
            """)
    }

    /// The HTML document around `body`.
    static func document(title: String, refresh: Int?, _ body: HTML) -> HTML {
        let meta: HTML = refresh.map { "<meta http-equiv=\"refresh\" content=\"\($0)\">" } ?? .empty
        return """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">\
            \(meta)<title>\(title) · webhook-worker</title><link rel="stylesheet" href="\(Stylesheet.path)"></head>
            <body>\(body)</body></html>
            """
    }
}

/// How times, ages, sizes and states read on the pages.
public enum Format {
    /// `2026-12-03 11:34:12Z`.
    public static func time(_ unixSeconds: Double) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second],
                                            from: Date(timeIntervalSince1970: unixSeconds))
        func two(_ value: Int?) -> String { let v = value ?? 0; return v < 10 ? "0\(v)" : "\(v)" }
        return "\(parts.year ?? 0)-\(two(parts.month))-\(two(parts.day)) \(two(parts.hour)):\(two(parts.minute)):\(two(parts.second))Z"
    }

    /// `42s`, `5m`, `3h`, `2d`.
    public static func age(_ seconds: Double) -> String {
        let s = max(0, seconds)
        if s < 1 { return "<1s" }
        if s < 120 { return "\(Int(s))s" }
        if s < 7200 { return "\(Int(s / 60))m" }
        if s < 172_800 { return "\(Int(s / 3600))h" }
        return "\(Int(s / 86400))d"
    }

    /// `12.3 MiB`.
    public static func bytes(_ count: Int) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(count), unit = 0
        while value >= 1024 && unit < units.count - 1 { value /= 1024; unit += 1 }
        return unit == 0 ? "\(count) B" : String(format: "%.1f", value) + " " + units[unit]
    }

    /// A coloured state label (`ok`, `open`, `paused`, an outcome).
    public static func state(_ name: String) -> HTML {
        "<span class=\"state \(name)\">\(name)</span>"
    }
}
