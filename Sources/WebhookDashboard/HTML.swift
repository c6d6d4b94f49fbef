/// A fragment of HTML whose every interpolated `String` is escaped: `"<td>\(user)</td>" as HTML`
/// cannot inject markup whatever `user` holds, and only another `HTML` value goes in as is.
///
/// Why this and not swift-mustache: the dashboard's handful of views are code, so the compiler
/// checks every name they use, and escaping is decided by type (a `String` is always escaped,
/// there is no triple-brace that forgets it), with no template files to ship beside the binary
/// and no new dependency. Usernames, actions and response bodies come from producers and
/// endpoints: a view must not be able to forget to escape them.
public struct HTML: Sendable, Equatable, ExpressibleByStringInterpolation, CustomStringConvertible {
    /// The markup.
    public private(set) var text: String

    public init(stringLiteral value: String) { text = value }

    public init(stringInterpolation: Interpolation) { text = stringInterpolation.text }

    private init(raw: String) { text = raw }

    public var description: String { text }

    /// The empty fragment.
    public static let empty = HTML(raw: "")

    /// `text` escaped for element content and quoted attribute values (`&`, `<`, `>`, `"`, `'`).
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            case "\0": out += "\u{FFFD}"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// `text` as a query-string component (RFC 3986 unreserved characters kept), for links.
    public static func queryComponent(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                out += "%" + String(byte >> 4, radix: 16, uppercase: true) + String(byte & 15, radix: 16, uppercase: true)
            }
        }
        return out
    }

    /// Joins fragments.
    public static func join(_ parts: some Sequence<HTML>, separator: HTML = .empty) -> HTML {
        HTML(raw: parts.map(\.text).joined(separator: separator.text))
    }

    public static func + (a: HTML, b: HTML) -> HTML { HTML(raw: a.text + b.text) }

    public struct Interpolation: StringInterpolationProtocol {
        var text = ""

        public init(literalCapacity: Int, interpolationCount: Int) {
            text.reserveCapacity(literalCapacity + interpolationCount * 16)
        }

        /// Literals are the view's own markup.
        public mutating func appendLiteral(_ literal: String) { text += literal }
        /// Text is escaped.
        public mutating func appendInterpolation(_ value: String) { text += HTML.escape(value) }
        /// Text is escaped; nil shows as `-`.
        public mutating func appendInterpolation(_ value: String?) { text += HTML.escape(value ?? "-") }
        public mutating func appendInterpolation(_ value: Int) { text += String(value) }
        /// Markup made by another view goes in as is.
        public mutating func appendInterpolation(_ value: HTML) { text += value.text }
        public mutating func appendInterpolation(_ values: [HTML]) { for value in values { text += value.text } }
    }
}
