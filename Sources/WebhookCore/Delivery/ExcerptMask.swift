/// What an attempt-log record's response excerpt must not show for one endpoint (see
/// `AttemptRecord.excerpt`), made once per endpoint.
///
/// Why: `AttemptRecord.excerpt` decodes the answer into a `String` and masks each secret with
/// Foundation's `replacingOccurrences`, which bridges to `NSString` and compares UTF-16 with
/// canonical equivalence. With a receiver answering 16 bytes (`received, thanks`) that was about
/// 33,000 instructions per delivery on the dispatcher, most of its work (`benchlib/instructions.py
/// --answer-body`). An answer is nearly always short plain ASCII that holds no secret; then the
/// excerpt is its first bytes as they are (`plainLength`), found with one byte search per secret.
/// Anything else (a secret in the answer, a byte above ASCII, a secret above ASCII, which
/// canonical equivalence could match in ASCII text) takes `excerpt`'s own way, unchanged.
public struct ExcerptMask: Sendable {
    /// The secrets, as `AttemptRecord.excerpt` takes them.
    public let secrets: [String]
    /// The secrets it masks (4 bytes or longer), searched as bytes.
    private let needles: [ByteNeedle]
    /// Whether every secret is ASCII (else no answer takes the byte path).
    private let asciiSecrets: Bool
    /// How much of an answer is searched (`AttemptRecord.searchedLength`).
    private let window: Int

    public init(secrets: [String]) {
        self.secrets = secrets
        needles = secrets.filter { $0.utf8.count >= AttemptRecord.maskedLength }.map { ByteNeedle($0) }
        asciiSecrets = secrets.allSatisfy { $0.utf8.allSatisfy { $0 < 0x80 } }
        window = AttemptRecord.searchedLength(secrets: secrets)
    }

    /// How many of `body`'s first bytes are its excerpt as they stand (plain ASCII holding no
    /// secret: exactly what `AttemptRecord.excerpt(body, secrets:)` returns for it); nil when
    /// the excerpt must be made by `excerpt`.
    public func plainLength(of body: [UInt8]) -> Int? {
        guard asciiSecrets else { return nil }
        return body.withUnsafeBufferPointer { all -> Int? in
            let searched = UnsafeBufferPointer(rebasing: all.prefix(window))
            guard Self.isASCII(searched) else { return nil }
            for needle in needles where needle.occurs(in: searched) { return nil }
            return min(all.count, AttemptRecord.responseLimit)
        }
    }

    /// Whether every byte is below 0x80, eight at a time.
    private static func isASCII(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        !ByteWords.any(in: bytes, word: { $0 & 0x8080_8080_8080_8080 != 0 }, byte: { $0 >= 0x80 })
    }
}
