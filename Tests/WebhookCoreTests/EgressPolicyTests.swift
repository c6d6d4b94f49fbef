@testable import WebhookCore
import XCTest

/// The egress guard's address judgement: every spelling of a forbidden address is refused.
final class EgressPolicyTests: XCTestCase {
    private func address(_ literal: String, file: StaticString = #filePath, line: UInt = #line) throws -> IPAddress {
        try XCTUnwrap(IPAddress(literal: literal), "\(literal) did not parse", file: file, line: line)
    }

    func testIPv4LiteralsParseAsInetAtonDoes() throws {
        let metadata = IPAddress(v4: [169, 254, 169, 254])
        for spelling in ["169.254.169.254", "2852039166", "0xa9.0xfe.0xa9.0xfe", "0251.0376.0251.0376", "169.254.43518",
                         "0xA9FEA9FE", "169.16689662"] {
            XCTAssertEqual(try address(spelling), metadata, spelling)
        }
        XCTAssertEqual(try address("0177.0.0.1"), IPAddress(v4: [127, 0, 0, 1]))
        for bad in ["256.1.1.1", "1.2.3.4.5", "08.1.1.1", "example.com", "", "1..2", "4294967296", "1.2.3.256"] {
            XCTAssertNil(IPAddress(literal: bad), bad)
        }
    }

    func testIPv6LiteralsWithBracketsAndZones() throws {
        XCTAssertEqual(try address("[::1]"), try address("::1"))
        XCTAssertEqual(try address("[fe80::1%25eth0]"), try address("fe80::1"))
        XCTAssertEqual(try address("fe80::1%eth0"), try address("fe80::1"))
        XCTAssertEqual(try address("[::ffff:169.254.169.254]"), IPAddress(v4: [169, 254, 169, 254]), "IPv4-mapped is IPv4")
        XCTAssertNil(IPAddress(literal: "[::g]"))
    }

    func testMetadataModeRefusesEverySpellingOfLinkLocalAndMetadata() throws {
        let policy = EgressPolicy(mode: .metadata)
        for spelling in ["169.254.169.254", "[::ffff:169.254.169.254]", "[64:ff9b::a9fe:a9fe]", "2852039166",
                         "0xa9.0xfe.0xa9.0xfe", "[fe80::1]", "[fd00:ec2::254]", "[2002:a9fe:a9fe::]", "[::169.254.169.254]",
                         "169.254.0.1"] {
            XCTAssertNotNil(policy.refusal(try address(spelling)), spelling)
        }
        // Loopback, private and public addresses are allowed in this mode.
        for spelling in ["127.0.0.1", "10.0.0.1", "[::1]", "8.8.8.8", "[2001:db8::1]"] {
            XCTAssertNil(policy.refusal(try address(spelling)), spelling)
        }
    }

    func testPrivateModeRefusesLocalRangesUnlessTheEndpointOrAllowListSaysSo() throws {
        let policy = EgressPolicy(mode: .private)
        for spelling in ["127.0.0.1", "[::1]", "[::ffff:7f00:1]", "0177.0.0.1", "[2002:7f00:1::]", "10.1.2.3",
                         "172.16.0.1", "192.168.1.1", "100.64.0.1", "0.0.0.0", "[::]", "[fc00::1]", "[fd12::1]",
                         "[64:ff9b::7f00:1]", "[::127.0.0.1]", "169.254.169.254"] {
            XCTAssertNotNil(policy.refusal(try address(spelling)), spelling)
        }
        for spelling in ["8.8.8.8", "172.32.0.1", "100.128.0.1", "[2001:db8::1]", "[2002:808:808::]"] {
            XCTAssertNil(policy.refusal(try address(spelling)), spelling)
        }
        XCTAssertNil(policy.refusal(try address("127.0.0.1"), privateOK: true), "egress: private-ok")
        XCTAssertNotNil(policy.refusal(try address("169.254.169.254"), privateOK: true), "private-ok never opens metadata")
        let allowing = EgressPolicy(mode: .private, allow: [CIDR("127.0.0.0/8")!, CIDR("169.254.10.0/24")!])
        XCTAssertNil(allowing.refusal(try address("127.0.0.1")))
        XCTAssertNil(allowing.refusal(try address("[::ffff:127.0.0.2]")), "the allow list covers embedded forms")
        XCTAssertNil(allowing.refusal(try address("169.254.10.9")), "WEBHOOK_EGRESS_ALLOW may exempt a metadata range")
        XCTAssertNotNil(allowing.refusal(try address("10.0.0.1")))
        XCTAssertNil(EgressPolicy(mode: .off).refusal(try address("169.254.169.254")))
    }

    func testCIDRParsing() {
        XCTAssertEqual(CIDR("10.0.0.0/8")?.description, "10.0.0.0/8")
        XCTAssertEqual(CIDR("fd00::/8")?.description, "fd00::/8")
        XCTAssertEqual(CIDR("192.168.1.1")?.description, "192.168.1.1/32")
        for bad in ["10.0.0.0/33", "fd00::/129", "10.0.0.0/", "x/8", "10.0.0.0/8/1", "10.0.0.0/-1"] {
            XCTAssertNil(CIDR(bad), bad)
        }
    }

    func testAConfiguredLiteralTheGuardRefusesStopsStartUpNamingWhere() throws {
        XCTAssertThrowsError(try Configuration.load(["WEBHOOK_ADDRESS": "http://169.254.169.254/latest"])) { error in
            XCTAssertEqual((error as? ConfigurationError)?.variable, "WEBHOOK_ADDRESS")
        }
        XCTAssertThrowsError(try Configuration.load(["WEBHOOK_ADDRESS": "http://[::1]:9/", "WEBHOOK_EGRESS": "private"])) { error in
            XCTAssertEqual((error as? ConfigurationError)?.variable, "WEBHOOK_ADDRESS")
        }
        XCTAssertNoThrow(try Configuration.load(["WEBHOOK_ADDRESS": "http://127.0.0.1:9/"]))
        XCTAssertNoThrow(try Configuration.load(["WEBHOOK_ADDRESS": "http://127.0.0.1:9/", "WEBHOOK_EGRESS": "private",
                                                 "WEBHOOK_EGRESS_ALLOW": "127.0.0.0/8"]))
        let file = """
        endpoints:
          - name: local-bot
            url: http://127.0.0.1:9/hook
          - name: other
            url: http://127.0.0.1:10/hook
            egress: private-ok
        """
        XCTAssertThrowsError(try Configuration.load(["WEBHOOK_ENDPOINTS_FILE": "e.yaml", "WEBHOOK_EGRESS": "private"],
                                                    readFile: { _ in file })) { error in
            XCTAssertEqual((error as? ConfigurationError)?.variable, "WEBHOOK_ENDPOINTS_FILE")
            XCTAssertTrue("\(error)".contains("local-bot") && "\(error)".contains("private-ok"), "\(error)")
        }
        for (name, value) in [("WEBHOOK_EGRESS", "strict"), ("WEBHOOK_EGRESS_ALLOW", "10.0.0.0/99")] {
            XCTAssertThrowsError(try Configuration.load([name: value]), name) { error in
                XCTAssertEqual((error as? ConfigurationError)?.variable, name)
            }
        }
    }
}
