/// What kind of receiver a delivery goes to; the raw value is its letter in a delivery item.
public enum TargetKind: String, Sendable, Hashable {
    /// An endpoint of `WEBHOOK_ADDRESS`: receives the event itself.
    case webhook = "w"
    /// `DISCORD_WEBHOOK_URL`: receives an embed built from the event.
    case discord = "d"
}

/// One receiver of events: an endpoint URL and how to talk to it.
public struct Target: Hashable, Sendable {
    public let kind: TargetKind
    public let url: String

    public init(kind: TargetKind, url: String) {
        self.kind = kind
        self.url = url
    }
}
