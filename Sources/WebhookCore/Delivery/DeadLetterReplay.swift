/// What replaying one dead letter puts back on the queue: the rule `dead replay` and the
/// dashboard's replay buttons share, so both send the same thing (tries reset, the same
/// `webhook-id`, the endpoint of that id as configured now).
public enum DeadLetterReplay {
    /// The decision for one stored dead letter.
    public enum Plan: Sendable, Equatable {
        /// Replace the entry with this queue item (a signed delivery). `unconfigured`: the
        /// dead letter names an endpoint id this configuration does not know; the item keeps
        /// the id, for workers whose configuration has it.
        case replay(item: [UInt8], unconfigured: Bool)
        /// Malformed or oversize input: replaying cannot fix it.
        case undeliverable
        /// Written by an earlier release without an endpoint: only a destination (`--to`) can send it.
        case noEndpoint
    }

    /// Plans the replay of `entry` (a dead list element, as stored).
    /// - Parameters:
    ///   - destination: send it to this target instead of its own (`dead replay --to`).
    ///   - newWebhookID: makes an id for a dead letter that has none (earlier releases).
    public static func plan(_ entry: [UInt8], directory: TargetDirectory, authenticator: ItemAuthenticator,
                            destination: Target? = nil,
                            newWebhookID: (String) -> String = WebhookID.replay(targetID:)) -> Plan {
        guard let letter = try? DeadLetter(decoding: entry), letter.truncated == nil,
              (try? Event.parse(letter.payload[...], maxBytes: .max, now: 0)) != nil else {
            return .undeliverable
        }
        if let destination {
            let delivery = Delivery(webhookID: letter.webhookID ?? newWebhookID(destination.id), tries: 0,
                                    targetID: destination.id, urlFingerprint: directory.fingerprint(of: destination),
                                    raw: letter.payload[...])
            return .replay(item: QueueItem.encode(delivery, authenticator: authenticator), unconfigured: false)
        }
        guard let targetID = letter.targetID else { return .noEndpoint }
        // Sent to the endpoint of that id as configured now (whatever its URL: the operator asks
        // for it), or left to the workers' own configuration.
        var target: Target?
        switch directory.resolve(id: targetID, fingerprint: nil) {
        case .target(let found), .urlChanged(let found): target = found
        case .ambiguous, .unknown: break
        }
        let delivery = Delivery(webhookID: letter.webhookID ?? newWebhookID(targetID), tries: 0,
                                targetID: target?.id ?? targetID, urlFingerprint: target.flatMap(directory.fingerprint(of:)),
                                raw: letter.payload[...])
        return .replay(item: QueueItem.encode(delivery, authenticator: authenticator), unconfigured: target == nil)
    }
}
