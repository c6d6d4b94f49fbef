import WebhookRedis
import XCTest

/// RESP framing of command arguments (pure; `RedisQueueTests` settles such bytes through a
/// real server).
final class FramedArgumentsTests: XCTestCase {
    private func text(_ framed: FramedArguments) -> String {
        String(decoding: framed.bytes, as: UTF8.self)
    }

    func testEachArgumentIsFramedWithItsByteLength() {
        var framed = FramedArguments()
        framed.append(Array("a\r\nb".utf8))
        framed.append([])
        framed.append("ünï")  // 5 UTF-8 bytes
        XCTAssertEqual(text(framed), "$4\r\na\r\nb\r\n$0\r\n\r\n$5\r\nünï\r\n")
        XCTAssertEqual(framed.count, 3)
    }

    func testIntegersAreDecimalAsRedisParsesThem() {
        var framed = FramedArguments()
        for number in [0, 7, 10, 99, 100, -1, -12, 1_234_567_890, Int.max, Int.min] { framed.append(number) }
        XCTAssertEqual(text(framed), [0, 7, 10, 99, 100, -1, -12, 1_234_567_890, Int.max, Int.min]
            .map { "$\(String($0).utf8.count)\r\n\($0)\r\n" }.joined())
        XCTAssertEqual(framed.count, 10)
    }

    func testAppendingAnotherKeepsTheOrderAndCount() {
        var head = FramedArguments(), tail = FramedArguments()
        head.append("EVALSHA")
        tail.append(3)
        tail.append("x")
        head.append(contentsOf: tail)
        XCTAssertEqual(text(head), "$7\r\nEVALSHA\r\n$1\r\n3\r\n$1\r\nx\r\n")
        XCTAssertEqual(head.count, 3)
    }
}
