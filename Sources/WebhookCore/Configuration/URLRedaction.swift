/// Makes endpoint URLs safe to show in logs, the CLI, dead letters and metric labels.
///
/// URLs often carry credentials: `user:password@`, `?token=...`, Discord's
/// `/api/webhooks/<id>/<token>`, Telegram's `/bot<token>/`. What remains is enough to tell
/// endpoints apart: scheme, host, port and the path with secret-looking segments masked.
public enum URLRedaction {
    /// `url` with userinfo, query, fragment and secret-looking path segments replaced by `***`.
    public static func redact(_ url: String) -> String {
        guard let schemeEnd = url.range(of: "://") else { return mask(url[...]) ? "***" : url }
        let scheme = url[..<schemeEnd.upperBound]
        var rest = url[schemeEnd.upperBound...]
        var fragmentOrQuery = ""
        if let cut = rest.firstIndex(where: { $0 == "?" || $0 == "#" }) {
            let tail = rest[cut...]
            if tail.hasPrefix("?") {
                // Keys stay (they say what the parameter is), values go.
                let query = tail.dropFirst().prefix { $0 != "#" }
                fragmentOrQuery = "?" + query.split(separator: "&", omittingEmptySubsequences: false).map { pair in
                    guard let eq = pair.firstIndex(of: "=") else { return pair.isEmpty ? "" : "***" }
                    return String(pair[...eq]) + "***"
                }.joined(separator: "&")
                if tail.dropFirst().count > query.count { fragmentOrQuery += "#***" }
            } else {
                fragmentOrQuery = "#***"
            }
            rest = rest[..<cut]
        }
        let authorityEnd = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        var shownAuthority = String(authority)
        if let at = authority.lastIndex(of: "@") { shownAuthority = "***@" + authority[authority.index(after: at)...] }
        let segments = rest[authorityEnd...].split(separator: "/", omittingEmptySubsequences: false)
        var shown = segments.map { segment -> String in
            if segment.hasPrefix("bot") && segment.contains(":") { return "bot***" }  // Telegram
            return mask(segment) ? "***" : String(segment)
        }
        // Discord: /api[/vN]/webhooks/<id>/<token>, whatever the token looks like.
        for index in shown.indices.dropLast(2) where index > 0 && shown[index] == "webhooks" {
            let before = shown[index - 1]
            let isAPI = before == "api" || (before.hasPrefix("v") && before.dropFirst().allSatisfy(\.isNumber)
                                             && index > 1 && shown[index - 2] == "api")
            if isAPI && !shown[index + 2].isEmpty { shown[index + 2] = "***" }
        }
        let path = shown.joined(separator: "/")
        return String(scheme) + shownAuthority + path + fragmentOrQuery
    }

    /// A segment that looks like a token: long and mixing letters with digits or symbols, or
    /// very long. Ordinary path words (`hook`, `api`, `webhooks`, `v1`, a numeric id) stay.
    static func mask(_ segment: Substring) -> Bool {
        if segment.count >= 40 { return true }
        guard segment.count >= 16 else { return false }
        let hasLetter = segment.contains(where: \.isLetter)
        let hasOther = segment.contains(where: { !$0.isLetter })
        return hasLetter && hasOther
    }
}
