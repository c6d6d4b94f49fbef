import Foundation
import Crypto
import WebhookCore

/// Who may use the dashboard, decided without I/O: the session cookie an operator gets for the
/// token, and the CSRF token every state-changing form carries.
///
/// The cookie holds `HMAC(token, "session")`, not the token: the token is typed once and never
/// travels again, and changing `DASHBOARD_TOKEN` ends every session. The CSRF token is
/// `HMAC(key, "csrf")` under the same key, so a page from another origin, which cannot read
/// the dashboard's pages, cannot make one. Open (no token): the key is random per process, so
/// CSRF tokens still work and die with the process. Every comparison is constant-time.
public struct DashboardAuth: Sendable {
    /// The cookie's name.
    public static let cookieName = "wh_dashboard"
    /// The form field of the CSRF token.
    public static let csrfField = "csrf"

    /// Nil when open.
    private let token: [UInt8]?
    /// The HMAC key's bytes (`SymmetricKey` is not `Sendable`).
    private let key: [UInt8]

    /// - Parameter token: DASHBOARD_TOKEN; nil or empty: open (anyone may read; actions still need
    ///   the CSRF token).
    public init(token: String?) {
        if let token, !token.isEmpty {
            self.token = Array(token.utf8)
            self.key = Array(token.utf8)
        } else {
            self.token = nil
            self.key = SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) }
        }
    }

    /// No token: every page is served without a cookie.
    public var isOpen: Bool { token == nil }

    /// The session cookie's value.
    public var sessionValue: String { mac("session") }

    /// The CSRF token forms carry.
    public var csrfToken: String { mac("csrf") }

    /// Whether `typed` (the token form's field) is the token.
    public func acceptsToken(_ typed: String) -> Bool {
        guard let token else { return true }
        return WebhookSigner.constantTimeEquals(Array(typed.utf8), token)
    }

    /// Whether a request with this `Cookie` header may read pages.
    public func isSignedIn(cookieHeader: String?) -> Bool {
        guard !isOpen else { return true }
        guard let value = Self.cookie(Self.cookieName, in: cookieHeader) else { return false }
        return WebhookSigner.constantTimeEquals(Array(value.utf8), Array(sessionValue.utf8))
    }

    /// Whether a form's CSRF field is right.
    public func acceptsCSRF(_ given: String?) -> Bool {
        guard let given else { return false }
        return WebhookSigner.constantTimeEquals(Array(given.utf8), Array(csrfToken.utf8))
    }

    /// The `Set-Cookie` value that signs a browser in: HttpOnly (no script reads it),
    /// SameSite=Strict (no other site's page sends it), for the whole dashboard.
    public var signInCookie: String {
        "\(Self.cookieName)=\(sessionValue); Path=/; HttpOnly; SameSite=Strict"
    }

    /// The `Set-Cookie` value that signs a browser out.
    public static let signOutCookie = "\(cookieName)=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"

    /// The value of cookie `name` in a `Cookie` header (`a=1; b=2`).
    static func cookie(_ name: String, in header: String?) -> String? {
        guard let header else { return nil }
        for part in header.split(separator: ";") {
            let pair = part.trimmingCharacters(in: .whitespaces)
            guard let eq = pair.firstIndex(of: "="), pair[..<eq] == name else { continue }
            return String(pair[pair.index(after: eq)...])
        }
        return nil
    }

    private func mac(_ label: String) -> String {
        let code = HMAC<SHA256>.authenticationCode(for: Array(("webhook-worker dashboard " + label).utf8), using: SymmetricKey(data: key))
        return code.map { String($0, radix: 16).leftPadded(2) }.joined()
    }
}

extension String {
    fileprivate func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
