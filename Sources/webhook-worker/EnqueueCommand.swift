import ArgumentParser
import Foundation
import WebhookCore
import WebhookRedis

struct EnqueueCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enqueue",
        abstract: "Push one event onto the queue (the producer, from the shell).")

    @OptionGroup var options: ConfigOptions

    @Option(help: "The event type, e.g. user_created.")
    var action: String

    @Option(help: "The user the event is about.")
    var username: String

    @Option(name: .customLong("field"), help: ArgumentHelp(
        "An extra field; the value is JSON when it parses as JSON (80, true, {\"a\":1}), else a string.",
        valueName: "key=value"))
    var fields: [String] = []

    @Option(help: "A JSON object whose fields are added to the event.")
    var json: String?

    func run() throws {
        let configuration = try options.load()
        var extra: [(String, JSONValue)] = []
        if let json {
            let bytes = Array(json.utf8)
            let document: JSONDocument
            do { document = try JSONScanner.scan(bytes) } catch {
                throw ValidationError("--json: \(error)")
            }
            guard document.kind == .object else { throw ValidationError("--json must be a JSON object") }
            for member in document.members {
                extra.append((member.key, .raw(Array(bytes[member.valueRange]))))
            }
        }
        for field in fields {
            guard let eq = field.firstIndex(of: "="), eq != field.startIndex else {
                throw ValidationError("--field expects key=value, got '\(field)'")
            }
            extra.append((String(field[..<eq]), JSONValue(argument: String(field[field.index(after: eq)...]))))
        }
        let producer = try EventProducer(url: configuration.redis.url, prefix: configuration.redis.keyPrefix)
        try producer.enqueue(action: action, username: username, fields: extra,
                             now: Date().timeIntervalSince1970)
        print("enqueued \(action) for \(username) on \(configuration.redis.keyPrefix):queue")
    }
}
