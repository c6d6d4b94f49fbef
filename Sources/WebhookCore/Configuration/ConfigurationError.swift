/// A configuration value that cannot be used. The message never repeats a secret.
public struct ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The variable at fault, e.g. `WEBHOOK_TIMEOUT`.
    public let variable: String
    /// What is wrong, e.g. "expected a positive number of seconds, got 'abc'".
    public let message: String

    public init(variable: String, message: String) {
        self.variable = variable
        self.message = message
    }

    /// `VARIABLE: message`.
    public var description: String { "\(variable): \(message)" }
}
