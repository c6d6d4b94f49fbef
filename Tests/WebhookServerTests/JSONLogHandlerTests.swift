import Foundation
import Logging
import WebhookServer
import XCTest

/// The JSON log line format, in process: what `LOG_FORMAT=json` writes for tricky input.
final class JSONLogHandlerTests: XCTestCase {
    private final class Lines: @unchecked Sendable {
        private let lock = NSLock()
        private var captured: [[UInt8]] = []
        func append(_ line: [UInt8]) { lock.lock(); captured.append(line); lock.unlock() }
        var all: [[UInt8]] { lock.lock(); defer { lock.unlock() }; return captured }
    }

    private func logger(_ lines: Lines, metadata: Logger.Metadata = [:]) -> Logger {
        var handler = JSONLogHandler(label: "test.label", write: { lines.append($0) })
        handler.metadata = metadata
        var logger = Logger(label: "test.label", factory: { _ in handler })
        logger.logLevel = .trace
        return logger
    }

    private func object(_ bytes: [UInt8]) throws -> [String: Any] {
        XCTAssertEqual(bytes.last, UInt8(ascii: "\n"), "a line ends with a newline")
        XCTAssertEqual(bytes.dropLast().filter { $0 == UInt8(ascii: "\n") }.count, 0, "one line per event")
        let parsed = try JSONSerialization.jsonObject(with: Data(bytes))
        return try XCTUnwrap(parsed as? [String: Any], String(decoding: bytes, as: UTF8.self))
    }

    func testFieldsEscapingNestingAndReservedNames() throws {
        let lines = Lines()
        let log = logger(lines, metadata: ["handler_field": "from handler", "shadowed": "handler"])
        log.warning("line one\nline \"two\"\t\u{01}é", metadata: [
            "message": "would shadow the message",
            "time": "would shadow the time",
            "shadowed": "event wins",
            "count": .stringConvertible(42),
            "nested": ["a": ["x", "y\\z"], "b": "c"],
        ])
        let captured = lines.all
        XCTAssertEqual(captured.count, 1)
        let line = try object(captured[0])
        XCTAssertEqual(line["level"] as? String, "warning")
        XCTAssertEqual(line["label"] as? String, "test.label")
        XCTAssertEqual(line["message"] as? String, "line one\nline \"two\"\t\u{01}é")
        XCTAssertEqual(line["meta_message"] as? String, "would shadow the message")
        XCTAssertEqual(line["meta_time"] as? String, "would shadow the time")
        XCTAssertEqual(line["handler_field"] as? String, "from handler")
        XCTAssertEqual(line["shadowed"] as? String, "event wins")
        XCTAssertEqual(line["count"] as? String, "42")
        let nested = try XCTUnwrap(line["nested"] as? [String: Any])
        XCTAssertEqual(nested["a"] as? [String], ["x", "y\\z"])
        XCTAssertEqual(nested["b"] as? String, "c")
        // The fixed fields come first, in this order, so a human can read the start of a line.
        let text = String(decoding: captured[0], as: UTF8.self)
        XCTAssertTrue(text.hasPrefix(#"{"time":""#), text)
        XCTAssertTrue(text.contains(#"","level":"warning","label":"test.label","message":"#), text)
    }

    func testTimeIsUTCWithFractionalSeconds() throws {
        let lines = Lines()
        let before = Date()
        logger(lines).info("now")
        let after = Date()
        let time = try XCTUnwrap(try object(XCTUnwrap(lines.all.first))["time"] as? String)
        let pattern = #"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$"#
        XCTAssertNotNil(time.range(of: pattern, options: .regularExpression), time)
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let parsed = try XCTUnwrap(formatter.date(from: time), time)
        XCTAssertGreaterThanOrEqual(parsed.timeIntervalSince1970, before.timeIntervalSince1970 - 0.001)
        XCTAssertLessThanOrEqual(parsed.timeIntervalSince1970, after.timeIntervalSince1970 + 0.001)
    }

    func testLevelsFollowTheLogger() throws {
        let lines = Lines()
        var log = logger(lines)
        log.logLevel = .notice
        log.info("dropped")
        log.notice("kept")
        log.critical("kept too")
        let levels = try lines.all.map { try object($0)["level"] as? String }
        XCTAssertEqual(levels, ["notice", "critical"])
    }
}
