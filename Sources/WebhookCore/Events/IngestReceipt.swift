/// How the ingest bridge (`webhook-worker ingest`) answers a POST it enqueued: `202` with a JSON
/// object carrying `enqueued` (a count), e.g. `{"enqueued":3}`.
///
/// A worker that gets this answer from an endpoint is delivering to a bridge: most likely its
/// own (the README's set-up gives the worker and the bridge one `.env`, and the bridge accepts
/// the worker's signature), which enqueues every delivery again, forever. The worker stops on
/// the first such answer rather than amplify (see `WorkerRuntime`).
public enum IngestReceipt {
    /// Whether an endpoint's answer is the bridge's receipt.
    public static func matches(status: Int, body: [UInt8]) -> Bool {
        guard status == 202, body.first == UInt8(ascii: "{"), let document = try? JSONScanner.scan(body),
              document.kind == .object, let member = document.member("enqueued") else { return false }
        return member.kind == .number
    }
}
