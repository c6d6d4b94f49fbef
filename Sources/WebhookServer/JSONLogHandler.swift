import Foundation
import Logging
import WebhookCore

/// `LOG_FORMAT=json`: one JSON object per line, which log shippers (Fluent Bit, Vector,
/// Promtail, Kubernetes' own collectors) read without a parser of their own.
///
///     {"time":"2026-01-02T03:04:05.678901Z","level":"info","label":"webhook-worker","message":"worker started","worker_id":"w1"}
///
/// `time` is UTC, ISO 8601 with microseconds; metadata fields follow at the top level, sorted
/// (nested dictionaries and arrays stay JSON objects and arrays), and one that would shadow
/// `time`, `level`, `label` or `message` is written as `meta_<name>` instead. Strings go through
/// the core's `JSONWriter`, so what the events get escaped by is what the logs get escaped by.
/// Each line is one `write(2)` under a process-wide lock: lines from different threads never
/// interleave.
public struct JSONLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private let label: String
    private let write: @Sendable ([UInt8]) -> Void

    /// The fields every line starts with; metadata of the same name is renamed `meta_<name>`.
    public static let reservedFields: Set<String> = ["time", "level", "label", "message"]

    /// - Parameter write: receives each complete line, newline included.
    public init(label: String, metadataProvider: Logger.MetadataProvider? = nil,
                write: @escaping @Sendable ([UInt8]) -> Void) {
        self.label = label
        self.metadataProvider = metadataProvider
        self.write = write
    }

    /// A handler writing to standard error, for `LoggingSystem.bootstrap`.
    public static func standardError(label: String) -> JSONLogHandler {
        JSONLogHandler(label: label, write: writeToStandardError)
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var fields = metadata
        if let provided = metadataProvider?.get() { fields.merge(provided) { _, provided in provided } }
        if let own = event.metadata { fields.merge(own) { _, own in own } }
        if let error = event.error, fields["error"] == nil { fields["error"] = "\(error)" }
        write(Self.line(time: Date(), level: event.level, label: label, message: event.message.description, fields: fields))
    }

    /// One encoded line, newline included.
    static func line(time: Date, level: Logger.Level, label: String, message: String, fields: Logger.Metadata) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        out.append(contentsOf: Array(#"{"time":""#.utf8))
        appendTimestamp(time, to: &out)
        out.append(contentsOf: Array(#"","level":"#.utf8))
        JSONWriter.appendString(level.rawValue, to: &out)
        out.append(contentsOf: Array(#","label":"#.utf8))
        JSONWriter.appendString(label, to: &out)
        out.append(contentsOf: Array(#","message":"#.utf8))
        JSONWriter.appendString(message, to: &out)
        for key in fields.keys.sorted() {
            out.append(UInt8(ascii: ","))
            JSONWriter.appendString(reservedFields.contains(key) ? "meta_\(key)" : key, to: &out)
            out.append(UInt8(ascii: ":"))
            append(fields[key]!, to: &out)
        }
        out.append(contentsOf: Array("}\n".utf8))
        return out
    }

    private static func append(_ value: Logger.Metadata.Value, to out: inout [UInt8]) {
        switch value {
        case .string(let text):
            JSONWriter.appendString(text, to: &out)
        case .stringConvertible(let convertible):
            JSONWriter.appendString(convertible.description, to: &out)
        case .array(let values):
            out.append(UInt8(ascii: "["))
            for (index, element) in values.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                append(element, to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .dictionary(let dictionary):
            out.append(UInt8(ascii: "{"))
            for (index, key) in dictionary.keys.sorted().enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                JSONWriter.appendString(key, to: &out)
                out.append(UInt8(ascii: ":"))
                append(dictionary[key]!, to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// `YYYY-MM-DDTHH:MM:SS.ffffffZ`, in UTC.
    static func appendTimestamp(_ date: Date, to out: inout [UInt8]) {
        let since1970 = date.timeIntervalSince1970
        var whole = time_t(since1970.rounded(.down))
        var micros = Int(((since1970 - Double(whole)) * 1_000_000).rounded())
        if micros >= 1_000_000 { whole += 1; micros -= 1_000_000 }
        var parts = tm()
        gmtime_r(&whole, &parts)
        func digits(_ value: Int, _ count: Int) {
            var divisor = 1
            for _ in 1..<count { divisor *= 10 }
            var rest = value
            while divisor > 0 {
                out.append(UInt8(ascii: "0") + UInt8((rest / divisor) % 10))
                rest %= divisor
                divisor /= 10
            }
        }
        digits(Int(parts.tm_year) + 1900, 4); out.append(UInt8(ascii: "-"))
        digits(Int(parts.tm_mon) + 1, 2); out.append(UInt8(ascii: "-"))
        digits(Int(parts.tm_mday), 2); out.append(UInt8(ascii: "T"))
        digits(Int(parts.tm_hour), 2); out.append(UInt8(ascii: ":"))
        digits(Int(parts.tm_min), 2); out.append(UInt8(ascii: ":"))
        digits(Int(parts.tm_sec), 2); out.append(UInt8(ascii: "."))
        digits(micros, 6); out.append(UInt8(ascii: "Z"))
    }

    private static let standardErrorLock = NSLock()

    /// Whole lines to file descriptor 2, one writer at a time.
    private static func writeToStandardError(_ bytes: [UInt8]) {
        standardErrorLock.lock()
        defer { standardErrorLock.unlock() }
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = Glibc.write(2, buffer.baseAddress! + offset, buffer.count - offset)
                if written > 0 {
                    offset += written
                } else if written < 0 && errno == EINTR {
                    continue
                } else {
                    return  // stderr closed or full: a log line is not worth blocking or crashing for
                }
            }
        }
    }
}
