import WebhookCore

/// One attempt as the request builder sees it: which event, target, `tries` and `webhook-id`.
struct DeliveryUnit: Sendable {
    let eventID: UInt64
    let target: Target
    /// Failed attempts to this target before this one (the `tries` in the body).
    let tries: Int
    let webhookID: String
    /// The ledger's attempt this unit came from, handed back to the ledger with the request.
    var attempt: DeliveryLedger.Attempt?

    init(eventID: UInt64, target: Target, tries: Int, webhookID: String) {
        self.eventID = eventID
        self.target = target
        self.tries = tries
        self.webhookID = webhookID
    }

    init(attempt: DeliveryLedger.Attempt) {
        self.init(eventID: attempt.eventID, target: attempt.target, tries: attempt.tries, webhookID: attempt.webhookID)
        self.attempt = attempt
    }
}
