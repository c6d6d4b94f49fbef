/// A wrong endpoints file. The description names the file, the endpoint (by name, or by its
/// position when it has none) and the field, e.g.
/// `endpoints.yaml: endpoint 'billing': field 'rate': expected N/s or N/m, got '20 per second'`.
/// Secrets (secret, secrets, bot_token, header values) are never repeated in the message.
public struct EndpointsFileError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file as named in WEBHOOK_ENDPOINTS_FILE.
    public let file: String
    /// `'billing'`, or `#2` for the second endpoint when it has no usable name; nil for errors
    /// about the file as a whole.
    public let endpoint: String?
    /// The field at fault, e.g. `rate`; nil when the whole endpoint or file is wrong.
    public let field: String?
    public let message: String

    public init(file: String, endpoint: String?, field: String?, message: String) {
        self.file = file
        self.endpoint = endpoint
        self.field = field
        self.message = message
    }

    public var description: String {
        var text = "\(file): "
        if let endpoint { text += "endpoint \(endpoint): " }
        if let field { text += "field '\(field)': " }
        return text + message
    }
}
