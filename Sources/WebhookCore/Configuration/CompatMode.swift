/// The wire format (WEBHOOK_COMPAT).
public enum CompatMode: String, Sendable, Equatable, CaseIterable {
    /// One event object per request, `x-webhook-secret` = hex HMAC, Standard Webhooks headers.
    case standard
    /// Marzban's: a JSON array of the due events per request, `x-webhook-secret` = the raw secret.
    case marzban
}
