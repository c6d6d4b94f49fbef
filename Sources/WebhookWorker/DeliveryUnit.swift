import WebhookCore

/// One attempt as the request builder sees it: which event, target, `tries` and `webhook-id`.
struct DeliveryUnit: Sendable {
    let attempt: DeliveryLedger.Attempt

    var eventID: UInt64 { attempt.eventID }
    var target: Target { attempt.target }
    /// Failed attempts to this target before this one (the `tries` in the body).
    var tries: Int { attempt.tries }
    var webhookID: String { attempt.webhookID }
}
