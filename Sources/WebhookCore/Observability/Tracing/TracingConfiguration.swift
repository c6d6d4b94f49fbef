import Foundation

/// OpenTelemetry tracing, read from the standard `OTEL_*` variables (the OpenTelemetry SDK
/// environment specification), so an operator's collector settings apply unchanged. Off unless
/// an OTLP endpoint is set: without one nothing is recorded, exported or paid.
///
/// Only OTLP over HTTP with JSON bodies is spoken (`OTEL_EXPORTER_OTLP_PROTOCOL=http/json`); a
/// collector's OTLP/HTTP receiver accepts it on the same port as protobuf.
public struct TracingConfiguration: Sendable {
    /// Where spans are posted: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as given, else
    /// OTEL_EXPORTER_OTLP_ENDPOINT + `/v1/traces`. Nil: tracing is off.
    public var endpoint: String?
    /// OTEL_EXPORTER_OTLP_(TRACES_)HEADERS: `key=value,...` (values percent-decoded), sent with
    /// every export. May carry a collector's API key: never logged.
    public var headers: [(String, String)]
    /// OTEL_EXPORTER_OTLP_(TRACES_)TIMEOUT, milliseconds (10000): one export's bound.
    public var timeout: Double
    /// OTEL_SERVICE_NAME (`webhook-worker`) and OTEL_RESOURCE_ATTRIBUTES (`key=value,...`).
    public var resource: [(String, String)]
    /// OTEL_BSP_SCHEDULE_DELAY, milliseconds (5000): the longest a finished span waits.
    public var scheduleDelay: Double
    /// OTEL_BSP_MAX_QUEUE_SIZE (2048): spans kept while an export runs or the collector is
    /// down; beyond it new spans are dropped and counted.
    public var maxQueueSize: Int
    /// OTEL_BSP_MAX_EXPORT_BATCH_SIZE (512): spans per export request.
    public var maxExportBatchSize: Int

    public var isEnabled: Bool { endpoint != nil }

    /// Tracing off.
    public static let off = TracingConfiguration(endpoint: nil, headers: [], timeout: 10, resource: [],
                                                 scheduleDelay: 5, maxQueueSize: 2048, maxExportBatchSize: 512)

    static func load(_ reader: ConfigurationReader) throws(ConfigurationError) -> TracingConfiguration {
        if try reader.boolean("OTEL_SDK_DISABLED", default: false) { return .off }
        if let exporter = reader.string("OTEL_TRACES_EXPORTER")?.lowercased() {
            switch exporter {
            case "none": return .off
            case "otlp": break
            default:
                throw ConfigurationError(variable: "OTEL_TRACES_EXPORTER", message: "expected otlp or none, got '\(exporter)'")
            }
        }
        let endpoint: String
        if let traces = reader.string("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") {
            endpoint = try ConfigurationReader.httpURL(traces, variable: "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        } else if let base = reader.string("OTEL_EXPORTER_OTLP_ENDPOINT") {
            let url = try ConfigurationReader.httpURL(base, variable: "OTEL_EXPORTER_OTLP_ENDPOINT")
            endpoint = (url.hasSuffix("/") ? String(url.dropLast()) : url) + "/v1/traces"
        } else {
            return .off
        }
        for name in ["OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"] {
            if let protocolName = reader.string(name), protocolName != "http/json" {
                throw ConfigurationError(variable: name, message: "only http/json is supported (OTLP over HTTP with JSON bodies), got '\(protocolName)'")
            }
        }
        let headersName = reader.string("OTEL_EXPORTER_OTLP_TRACES_HEADERS") != nil ? "OTEL_EXPORTER_OTLP_TRACES_HEADERS" : "OTEL_EXPORTER_OTLP_HEADERS"
        let timeoutName = reader.string("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT") != nil ? "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT" : "OTEL_EXPORTER_OTLP_TIMEOUT"
        // OTEL_SERVICE_NAME wins over a service.name in OTEL_RESOURCE_ATTRIBUTES, as the
        // specification says; service.name always comes first.
        var attributes = try pairs(reader, "OTEL_RESOURCE_ATTRIBUTES")
        let serviceName = reader.string("OTEL_SERVICE_NAME")
            ?? attributes.last(where: { $0.0 == "service.name" })?.1 ?? "webhook-worker"
        attributes.removeAll { $0.0 == "service.name" }
        return TracingConfiguration(
            endpoint: endpoint,
            headers: try pairs(reader, headersName),
            timeout: Double(try reader.integer(timeoutName, default: 10_000, range: 1...600_000)) / 1000,
            resource: [("service.name", serviceName)] + attributes,
            scheduleDelay: Double(try reader.integer("OTEL_BSP_SCHEDULE_DELAY", default: 5000, range: 1...3_600_000)) / 1000,
            maxQueueSize: try reader.integer("OTEL_BSP_MAX_QUEUE_SIZE", default: 2048, range: 1...1_000_000),
            maxExportBatchSize: try reader.integer("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", default: 512, range: 1...1_000_000))
    }

    /// `key=value,key=value` with percent-encoded values (the W3C Baggage form the OpenTelemetry
    /// specification uses for these variables). The message never echoes a value: headers may be
    /// credentials.
    static func pairs(_ reader: ConfigurationReader, _ name: String) throws(ConfigurationError) -> [(String, String)] {
        guard let text = reader.string(name) else { return [] }
        var out: [(String, String)] = []
        for part in text.split(separator: ",") {
            let pieces = part.split(separator: "=", maxSplits: 1)
            let key = pieces.first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
            guard pieces.count == 2, !key.isEmpty, key.allSatisfy({ $0.isASCII && !$0.isWhitespace && $0 != ":" }) else {
                throw ConfigurationError(variable: name, message: "expected key=value pairs separated by commas (values are not shown)")
            }
            let raw = pieces[1].trimmingCharacters(in: .whitespaces)
            let value = raw.removingPercentEncoding ?? raw
            guard !value.contains(where: { $0 == "\r" || $0 == "\n" }) else {
                throw ConfigurationError(variable: name, message: "a value contains a line break (values are not shown)")
            }
            out.append((key, value))
        }
        return out
    }
}
