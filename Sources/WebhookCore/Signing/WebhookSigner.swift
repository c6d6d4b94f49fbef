import Crypto
import Foundation

/// Signs request bodies: the `x-webhook-secret` hex HMAC the seed's receiver checks, and the
/// Standard Webhooks `webhook-signature`.
public struct WebhookSigner: Sendable {
    /// The secret's UTF-8 bytes: the key of the hex signature.
    private let hexKey: [UInt8]?
    /// The Standard Webhooks key: the base64-decoded part after `whsec_` when the secret has
    /// that form, else the secret's UTF-8 bytes.
    private let standardKey: [UInt8]?
    /// The Standard Webhooks keys of the older secrets during a rotation (see `init(secrets:)`).
    private var rotatedKeys: [[UInt8]] = []

    /// A signer for `secret`; nil or "" means requests go unsigned.
    public init(secret: String?) {
        guard let secret, !secret.isEmpty else {
            hexKey = nil
            standardKey = nil
            return
        }
        hexKey = Array(secret.utf8)
        standardKey = Self.standardKey(for: secret) ?? Array(secret.utf8)
    }

    /// A signer for a rotation: `secrets` newest first. The first keys `x-webhook-secret`
    /// (`hexSignature`) and the first signature; `standardSignatures` signs with every one.
    /// Blank entries are skipped; none left means requests go unsigned.
    public init(secrets: [String]) {
        let usable = secrets.filter { !$0.isEmpty }
        self.init(secret: usable.first)
        rotatedKeys = usable.dropFirst().map { Self.standardKey(for: $0) ?? Array($0.utf8) }
    }

    /// Whether a secret is configured.
    public var isEnabled: Bool { hexKey != nil }

    /// Lowercase hex HMAC-SHA256 of `body`, keyed by the secret's UTF-8 bytes.
    public func hexSignature(_ body: [UInt8]) -> String? {
        guard let hexKey else { return nil }
        let mac = HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: hexKey))
        return Hex.string(mac)
    }

    /// The Standard Webhooks signature `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`.
    public func standardSignature(id: String, timestamp: Int, body: [UInt8]) -> String? {
        guard let standardKey else { return nil }
        return Self.sign(key: standardKey, id: id, timestamp: timestamp, body: body)
    }

    private static func sign(key: [UInt8], id: String, timestamp: Int, body: [UInt8]) -> String {
        var hmac = HMAC<SHA256>(key: SymmetricKey(data: key))
        var prefix = Array(id.utf8)
        prefix.append(UInt8(ascii: "."))
        JSONWriter.appendInt(timestamp, to: &prefix)
        prefix.append(UInt8(ascii: "."))
        hmac.update(data: prefix)
        hmac.update(data: body)
        return "v1," + Data(hmac.finalize()).base64EncodedString()
    }

    /// The `webhook-signature` header value: `v1,<sig>` for each secret, space-separated, the
    /// newest first, as Standard Webhooks specifies for key rotation (a receiver accepts the
    /// request when any one of them verifies). With one secret it equals `standardSignature`.
    public func standardSignatures(id: String, timestamp: Int, body: [UInt8]) -> String? {
        guard let first = standardSignature(id: id, timestamp: timestamp, body: body) else { return nil }
        guard !rotatedKeys.isEmpty else { return first }
        var signatures = [first]
        for key in rotatedKeys {
            signatures.append(Self.sign(key: key, id: id, timestamp: timestamp, body: body))
        }
        return signatures.joined(separator: " ")
    }

    /// Compares two byte sequences in time that depends only on their lengths.
    public static func constantTimeEquals(_ a: some Collection<UInt8>, _ b: some Collection<UInt8>) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for (x, y) in zip(a, b) { difference |= x ^ y }
        return difference == 0
    }

    /// The decoded key of a `whsec_<base64>` secret, or nil when the secret has another form.
    public static func standardKey(for secret: String) -> [UInt8]? {
        guard secret.hasPrefix("whsec_") else { return nil }
        guard let data = Data(base64Encoded: String(secret.dropFirst(6))), !data.isEmpty else { return nil }
        return Array(data)
    }
}
