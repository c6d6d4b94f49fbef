import Crypto
import Foundation
import WebhookCore
import XCTest

/// `whsk_` keys: the forms the Standard Webhooks libraries write, RFC 8032's test vector, and
/// clear refusals that never repeat the key.
final class AsymmetricSigningKeyTests: XCTestCase {
    /// RFC 8032 section 7.1, TEST 1.
    static let rfcSeed = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
    static let rfcPublic = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
    static let rfcEmptySignature = "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"

    private static func hex(_ text: String) -> [UInt8] {
        var bytes: [UInt8] = []
        var index = text.startIndex
        while index < text.endIndex {
            let next = text.index(index, offsetBy: 2)
            bytes.append(UInt8(text[index..<next], radix: 16)!)
            index = next
        }
        return bytes
    }

    private static func base64(_ bytes: [UInt8]) -> String { Data(bytes).base64EncodedString() }

    func testRFC8032TestVector() throws {
        let key = try AsymmetricSigningKey(parsing: "whsk_" + Self.base64(Self.hex(Self.rfcSeed)))
        XCTAssertEqual(key.publicKeyText, "whpk_" + Self.base64(Self.hex(Self.rfcPublic)))
        XCTAssertEqual(key.secretKeyText, "whsk_" + Self.base64(Self.hex(Self.rfcSeed)))
        let signature = key.sign([UInt8]())
        XCTAssertEqual(signature, Self.hex(Self.rfcEmptySignature), "RFC 8032 TEST 1: the empty message's signature")
    }

    func testLibsodiums64ByteFormAndUnpaddedBase64AreRead() throws {
        let seed = Self.hex(Self.rfcSeed), publicKey = Self.hex(Self.rfcPublic)
        let long = try AsymmetricSigningKey(parsing: "whsk_" + Self.base64(seed + publicKey))
        XCTAssertEqual(long.publicKeyText, "whpk_" + Self.base64(publicKey))
        let unpadded = "whsk_" + Self.base64(seed).replacingOccurrences(of: "=", with: "")
        XCTAssertEqual(try AsymmetricSigningKey(parsing: unpadded), long)
        XCTAssertEqual(try AsymmetricSigningKey(parsing: "  whsk_" + Self.base64(seed) + "\n"), long, "surrounding space")
    }

    func testGeneratedKeysRoundTripAndVerify() throws {
        let key = AsymmetricSigningKey.generate()
        XCTAssertTrue(key.secretKeyText.hasPrefix("whsk_"))
        XCTAssertTrue(key.publicKeyText.hasPrefix("whpk_"))
        XCTAssertEqual(try AsymmetricSigningKey(parsing: key.secretKeyText), key)
        XCTAssertNotEqual(AsymmetricSigningKey.generate(), key)
        // The header's signature verifies with the public key alone (swift-crypto's verifier).
        let header = key.signature(id: "msg_1", timestamp: 1700000000, body: Array("{}".utf8))
        XCTAssertTrue(header.hasPrefix("v1a,"))
        let signature = try XCTUnwrap(Data(base64Encoded: String(header.dropFirst(4))))
        let publicKey = try Curve25519.Signing.PublicKey(
            rawRepresentation: try XCTUnwrap(Data(base64Encoded: String(key.publicKeyText.dropFirst(5)))))
        XCTAssertTrue(publicKey.isValidSignature(signature, for: Data("msg_1.1700000000.{}".utf8)))
        XCTAssertFalse(publicKey.isValidSignature(signature, for: Data("msg_1.1700000001.{}".utf8)))
    }

    func testBadKeysAreRefusedWithoutRepeatingThem() {
        let seed = Self.hex(Self.rfcSeed)
        var wrongHalf = seed + Self.hex(Self.rfcPublic)
        wrongHalf[40] ^= 1
        let cases: [(String, String)] = [
            ("whpk_" + Self.base64(Self.hex(Self.rfcPublic)), "public key"),
            ("whsec_" + Self.base64(seed), "whsk_"),
            (Self.base64(seed), "whsk_"),
            ("whsk_", "not base64"),
            ("whsk_not*base64!", "not base64"),
            ("whsk_" + Self.base64(Array(seed.prefix(16))), "got 16"),
            ("whsk_" + Self.base64(wrongHalf), "second half"),
        ]
        for (text, expected) in cases {
            XCTAssertThrowsError(try AsymmetricSigningKey(parsing: text), text) { error in
                let message = (error as? AsymmetricSigningKeyError)?.message ?? ""
                XCTAssertTrue(message.contains(expected), "\(text): \(message)")
                let body = String(text.drop { $0 != "_" }.dropFirst())
                if body.count > 4 { XCTAssertFalse(message.contains(body), "the key is not repeated: \(message)") }
            }
        }
    }
}
