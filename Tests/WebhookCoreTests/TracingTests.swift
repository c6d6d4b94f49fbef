import Foundation
@testable import WebhookCore
import XCTest

/// W3C `traceparent` parsing and the OTLP/HTTP JSON encoding of spans.
final class TraceContextTests: XCTestCase {
    func testParsesTheSpecificationsExample() throws {
        let context = try XCTUnwrap(TraceContext(traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"))
        XCTAssertEqual(context.traceIDHex, "0af7651916cd43dd8448eb211c80319c")
        XCTAssertEqual(context.spanIDHex, "b7ad6b7169203331")
        XCTAssertTrue(context.isSampled)
        XCTAssertEqual(context.traceparent, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
        XCTAssertFalse(try XCTUnwrap(TraceContext(traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00")).isSampled)
    }

    func testRefusesWhatTheSpecificationRefuses() {
        for bad in [
            "", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331",
            "00-00000000000000000000000000000000-b7ad6b7169203331-01",   // all-zero trace id
            "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",   // all-zero span id
            "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01",   // uppercase
            "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",   // version ff
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-x", // version 00 has nothing after
            "01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01x",  // a later version: '-' after
            "00_0af7651916cd43dd8448eb211c80319c_b7ad6b7169203331_01",
            "00-0af7651916cd43dd8448eb211c80319g-b7ad6b7169203331-01",
        ] {
            XCTAssertNil(TraceContext(traceparent: bad), bad)
        }
        // A later version's extra fields are allowed; its first four are read as version 00's.
        XCTAssertEqual(TraceContext(traceparent: "01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra")?.spanIDHex,
                       "b7ad6b7169203331")
    }

    func testAChildKeepsTheTraceAndFlagsWithANewSpan() throws {
        var random = SystemRandomNumberGenerator()
        let parent = try XCTUnwrap(TraceContext(traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"))
        let child = parent.child(using: &random)
        XCTAssertEqual(child.traceIDHex, parent.traceIDHex)
        XCTAssertNotEqual(child.spanID, parent.spanID)
        XCTAssertEqual(child.flags, parent.flags)
        let root = TraceContext.root(using: &random)
        XCTAssertNotNil(TraceContext(traceparent: root.traceparent), root.traceparent)
        XCTAssertTrue(root.isSampled)
    }

    func testOTLPJSONHasHexIdsStringNanosAndTypedAttributes() throws {
        let context = try XCTUnwrap(TraceContext(traceparent: "00-0af7651916cd43dd8448eb211c80319c-00f067aa0ba902b7-01"))
        let span = SpanRecord(context: context, parentSpanID: 0xb7ad_6b71_6920_3331, name: "webhook deliver",
                              startNanos: 1_700_000_000_000_000_000, endNanos: 1_700_000_000_250_000_000,
                              attributes: [("webhook.endpoint", .string("bill\"ing")), ("webhook.try", .int(2))],
                              error: "HTTP 503")
        let data = Data(OTLPTraceJSON.encode([span], resource: [("service.name", "w")], scope: "webhook-worker"))
        let root = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
        let resourceSpans = try XCTUnwrap((root["resourceSpans"] as? [[String: Any]])?.first)
        let resource = try XCTUnwrap((resourceSpans["resource"] as? [String: Any])?["attributes"] as? [[String: Any]])
        XCTAssertEqual(resource.first?["key"] as? String, "service.name")
        let scopeSpans = try XCTUnwrap((resourceSpans["scopeSpans"] as? [[String: Any]])?.first)
        XCTAssertEqual((scopeSpans["scope"] as? [String: Any])?["name"] as? String, "webhook-worker")
        let encoded = try XCTUnwrap((scopeSpans["spans"] as? [[String: Any]])?.first)
        XCTAssertEqual(encoded["traceId"] as? String, "0af7651916cd43dd8448eb211c80319c")
        XCTAssertEqual(encoded["spanId"] as? String, "00f067aa0ba902b7")
        XCTAssertEqual(encoded["parentSpanId"] as? String, "b7ad6b7169203331")
        XCTAssertEqual(encoded["startTimeUnixNano"] as? String, "1700000000000000000")
        XCTAssertEqual(encoded["endTimeUnixNano"] as? String, "1700000000250000000")
        XCTAssertEqual(encoded["kind"] as? Int, 3)
        let attributes = try XCTUnwrap(encoded["attributes"] as? [[String: Any]])
        XCTAssertEqual((attributes[0]["value"] as? [String: Any])?["stringValue"] as? String, "bill\"ing")
        XCTAssertEqual((attributes[1]["value"] as? [String: Any])?["intValue"] as? String, "2")
        XCTAssertEqual((encoded["status"] as? [String: Any])?["code"] as? Int, 2)
        XCTAssertEqual((encoded["status"] as? [String: Any])?["message"] as? String, "HTTP 503")
    }
}

/// The standard `OTEL_*` variables.
final class TracingConfigurationTests: XCTestCase {
    private func load(_ variables: [String: String]) throws -> TracingConfiguration {
        try Configuration.load(variables).tracing
    }

    func testOffWithoutAnEndpoint() throws {
        XCTAssertFalse(try load([:]).isEnabled)
        XCTAssertFalse(try load(["OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_SDK_DISABLED": "true"]).isEnabled)
        XCTAssertFalse(try load(["OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_TRACES_EXPORTER": "none"]).isEnabled)
    }

    func testEndpointsHeadersResourceAndBatching() throws {
        XCTAssertEqual(try load(["OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318/"]).endpoint, "http://c:4318/v1/traces")
        XCTAssertEqual(try load(["OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318",
                                 "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://t:1/custom"]).endpoint, "http://t:1/custom")
        let tracing = try load([
            "OTEL_EXPORTER_OTLP_ENDPOINT": "https://c:4318",
            "OTEL_EXPORTER_OTLP_HEADERS": "api-key=a%2Cb, x-tenant = t1",
            "OTEL_EXPORTER_OTLP_TIMEOUT": "2500",
            "OTEL_RESOURCE_ATTRIBUTES": "service.name=ignored,deployment.environment=prod",
            "OTEL_SERVICE_NAME": "billing",
            "OTEL_BSP_SCHEDULE_DELAY": "200", "OTEL_BSP_MAX_QUEUE_SIZE": "10", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "5",
        ])
        XCTAssertEqual(tracing.headers.map(\.0), ["api-key", "x-tenant"])
        XCTAssertEqual(tracing.headers.map(\.1), ["a,b", "t1"])
        XCTAssertEqual(tracing.timeout, 2.5)
        XCTAssertEqual(tracing.resource.map(\.0), ["service.name", "deployment.environment"])
        XCTAssertEqual(tracing.resource.first?.1, "billing")
        XCTAssertEqual([tracing.scheduleDelay, Double(tracing.maxQueueSize), Double(tracing.maxExportBatchSize)], [0.2, 10, 5])
        XCTAssertEqual(try load(["OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318",
                                 "OTEL_RESOURCE_ATTRIBUTES": "service.name=from-attributes"]).resource.first?.1, "from-attributes")
    }

    func testBadValuesNameTheirVariableWithoutEchoingHeaders() {
        let cases: [([String: String], String)] = [
            (["OTEL_EXPORTER_OTLP_ENDPOINT": "c:4318"], "OTEL_EXPORTER_OTLP_ENDPOINT"),
            (["OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"], "OTEL_EXPORTER_OTLP_PROTOCOL"),
            (["OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_TRACES_EXPORTER": "zipkin"], "OTEL_TRACES_EXPORTER"),
            (["OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_EXPORTER_OTLP_HEADERS": "secret-token-only"], "OTEL_EXPORTER_OTLP_HEADERS"),
            (["OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_EXPORTER_OTLP_TIMEOUT": "soon"], "OTEL_EXPORTER_OTLP_TIMEOUT"),
        ]
        for (variables, name) in cases {
            XCTAssertThrowsError(try load(variables), name) { error in
                XCTAssertEqual((error as? ConfigurationError)?.variable, name)
                XCTAssertFalse("\(error)".contains("secret-token-only"), "\(error)")
            }
        }
    }
}

/// The bridge's `traceparent` header, carried into the event.
final class TraceparentFieldTests: XCTestCase {
    private let header = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"

    func testAddsTheFieldBeforeTheClosingBraceAndKeepsEveryOtherByte() {
        let event = Array(#"{"action":"user_created", "username":"a" }"#.utf8)
        XCTAssertEqual(String(decoding: TraceContext.adding(header, to: event), as: UTF8.self),
                       #"{"action":"user_created", "username":"a" ,"traceparent":"\#(header)"}"#)
        XCTAssertEqual(String(decoding: TraceContext.adding(header, to: Array("{}".utf8)), as: UTF8.self),
                       #"{"traceparent":"\#(header)"}"#)
    }

    func testTheProducersOwnFieldAndInvalidHeadersLeaveTheEventAlone() {
        let own = Array(#"{"action":"a","username":"u","traceparent":"00-11111111111111111111111111111111-2222222222222222-01"}"#.utf8)
        XCTAssertEqual(TraceContext.adding(header, to: own), own)
        let event = Array(#"{"action":"a","username":"u"}"#.utf8)
        XCTAssertEqual(TraceContext.adding("00-xyz", to: event), event)
        XCTAssertEqual(TraceContext.adding(#"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01","x":"#, to: event), event)
    }
}
