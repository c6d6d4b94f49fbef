/// Why ``JSONScanner`` rejected its input, and where.
public struct JSONScanError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Byte offset of the first byte that made the input invalid (the input's length when it
    /// ended too early).
    public let offset: Int
    /// A short explanation, e.g. "unexpected byte 'x'".
    public let message: String

    public init(offset: Int, message: String) {
        self.offset = offset
        self.message = message
    }

    public var description: String { "\(message) at offset \(offset)" }
}
