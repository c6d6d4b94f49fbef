import Crypto
import Foundation

/// A Standard Webhooks asymmetric signing key: Ed25519, signing `v1a`.
///
/// The spec serialises the pair as base64 behind a prefix: `whsk_` for the secret key, `whpk_`
/// for the public key. The secret's base64 may hold the 32-byte seed (RFC 8032's private key;
/// what `keys generate` prints, and what Python's `cryptography` gives) or libsodium's 64-byte
/// form (seed, then public key; what NaCl-style libraries give), whose public half must match.
/// Receivers verify with the `whpk_` key alone, so they never hold a secret that could forge.
public struct AsymmetricSigningKey: Sendable, Equatable {
    public static let secretPrefix = "whsk_"
    public static let publicPrefix = "whpk_"

    private let box: KeyBox
    private var key: Curve25519.Signing.PrivateKey { box.key }

    /// swift-crypto does not mark its key types Sendable. This one is immutable once read and
    /// signing only reads it, so sharing it between the threads that sign is safe.
    private final class KeyBox: @unchecked Sendable {
        let key: Curve25519.Signing.PrivateKey
        init(_ key: Curve25519.Signing.PrivateKey) { self.key = key }
    }

    /// Reads a `whsk_` key. The error says what is wrong and never repeats the key.
    public init(parsing text: String) throws(AsymmetricSigningKeyError) {
        let text = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard text.hasPrefix(Self.secretPrefix) else {
            if text.hasPrefix(Self.publicPrefix) {
                throw AsymmetricSigningKeyError("is a public key (whpk_); signing needs the secret key (whsk_), which `webhook-worker keys generate` prints")
            }
            throw AsymmetricSigningKeyError("expected a secret key starting with whsk_ (`webhook-worker keys generate` makes one)")
        }
        guard let raw = Self.base64(String(text.dropFirst(Self.secretPrefix.count))) else {
            throw AsymmetricSigningKeyError("the part after whsk_ is not base64")
        }
        guard raw.count == 32 || raw.count == 64 else {
            throw AsymmetricSigningKeyError("expected 32 bytes (an Ed25519 seed) or 64 (seed and public key) after whsk_, got \(raw.count)")
        }
        let key: Curve25519.Signing.PrivateKey
        do {
            key = try Curve25519.Signing.PrivateKey(rawRepresentation: raw.prefix(32))
        } catch {
            throw AsymmetricSigningKeyError("not an Ed25519 key")
        }
        if raw.count == 64, !WebhookSigner.constantTimeEquals(raw.suffix(32), key.publicKey.rawRepresentation) {
            throw AsymmetricSigningKeyError("the 64-byte form's second half is not the public key of its first half")
        }
        self.box = KeyBox(key)
    }

    private init(key: Curve25519.Signing.PrivateKey) {
        self.box = KeyBox(key)
    }

    /// A new random key pair.
    public static func generate() -> AsymmetricSigningKey {
        AsymmetricSigningKey(key: Curve25519.Signing.PrivateKey())
    }

    /// `whsk_<base64 of the 32-byte seed>`: a secret, never to be logged.
    public var secretKeyText: String {
        Self.secretPrefix + key.rawRepresentation.base64EncodedString()
    }

    /// `whpk_<base64 of the 32-byte public key>`: what receivers verify with.
    public var publicKeyText: String {
        Self.publicPrefix + key.publicKey.rawRepresentation.base64EncodedString()
    }

    /// The raw Ed25519 signature of `message`.
    public func sign<Message: DataProtocol>(_ message: Message) -> [UInt8] {
        // Signing fails only if BoringSSL cannot allocate; the key itself was checked when read.
        guard let signature = try? key.signature(for: message) else { return [] }
        return Array(signature)
    }

    /// The Standard Webhooks `v1a,<base64 Ed25519 signature of "id.timestamp.body">`.
    public func signature(id: String, timestamp: Int, body: [UInt8]) -> String {
        var message = Array(id.utf8)
        message.append(UInt8(ascii: "."))
        JSONWriter.appendInt(timestamp, to: &message)
        message.append(UInt8(ascii: "."))
        message.append(contentsOf: body)
        return "v1a," + Data(sign(message)).base64EncodedString()
    }

    public static func == (a: AsymmetricSigningKey, b: AsymmetricSigningKey) -> Bool {
        a.key.publicKey.rawRepresentation == b.key.publicKey.rawRepresentation
    }

    /// Standard base64, padding optional (as the Standard Webhooks libraries accept it).
    private static func base64(_ text: String) -> Data? {
        guard !text.isEmpty else { return nil }
        let padded = text + String(repeating: "=", count: (4 - text.count % 4) % 4)
        return Data(base64Encoded: padded)
    }
}

/// Why a `whsk_` key was refused; the message never contains the key.
public struct AsymmetricSigningKeyError: Error, Sendable, CustomStringConvertible {
    public let message: String
    init(_ message: String) { self.message = message }
    public var description: String { message }
}
