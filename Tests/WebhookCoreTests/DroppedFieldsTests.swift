import Foundation
@testable import WebhookCore
import XCTest

final class DroppedFieldsTests: XCTestCase {
    private func drop(_ paths: [String], _ body: String) -> String {
        String(decoding: DroppedFields.removing(paths.map { DroppedFields.path($0)! }, from: Array(body.utf8)), as: UTF8.self)
    }

    func testRemovesNestedMembersAndKeepsEveryOtherByte() {
        let body = #"{"username":"u", "by": {"username":"admin","discord_webhook":"https://discord.com/api/webhooks/1/x","is_sudo":true}, "user":{"admin":{"discord_webhook":"https://d/2","telegram_id":5}},"tries":0}"#
        XCTAssertEqual(drop(["by.discord_webhook", "user.admin.discord_webhook"], body),
                       #"{"username":"u", "by": {"username":"admin","is_sudo":true}, "user":{"admin":{"telegram_id":5}},"tries":0}"#)
        XCTAssertEqual(drop(["username"], body).prefix(6), #"{"by":"#)
        XCTAssertEqual(drop(["tries"], #"{"a":1 , "tries":0}"#), #"{"a":1}"#)
        XCTAssertEqual(drop(["a"], #"{ "a":1 }"#), #"{  }"#)
        XCTAssertEqual(drop(["a"], #"{"a":1,"b":2,"a":3}"#), #"{"b":2}"#, "every duplicate goes")
    }

    func testMissingPathsAndNonObjectsLeaveTheBodyAlone() {
        let body = #"{"by":"admin","user":null,"list":[{"x":1}]}"#
        XCTAssertEqual(drop(["by.discord_webhook", "user.admin.x", "missing", "list.x"], body), body)
        XCTAssertEqual(drop(["a"], "[1,2]"), "[1,2]")
        XCTAssertNil(DroppedFields.path("user..admin"))
        XCTAssertNil(DroppedFields.path(""))
    }

    func testTheEndpointsFileTakesDottedPathsForWebhooksOnly() throws {
        let good = try Configuration.load(["WEBHOOK_ENDPOINTS_FILE": "e.yaml"], readFile: { _ in """
            endpoints:
              - name: billing
                url: http://127.0.0.1:9/hook
                drop_fields: [user.admin.discord_webhook, by.discord_webhook]
            """ })
        XCTAssertEqual(good.endpoints.specs.first?.dropFields, [["user", "admin", "discord_webhook"], ["by", "discord_webhook"]])
        XCTAssertThrowsError(try Configuration.load(["WEBHOOK_ENDPOINTS_FILE": "e.yaml"], readFile: { _ in """
            endpoints:
              - name: billing
                url: http://127.0.0.1:9/hook
                drop_fields: [user..admin]
            """ })) { error in XCTAssertTrue("\(error)".contains("drop_fields"), "\(error)") }
    }
}
