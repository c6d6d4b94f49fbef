/// Finds the configured target a stored delivery is for, and refuses to guess.
///
/// A delivery names its target by id (`Target.id`) and, since ids were widened, carries the
/// keyed fingerprint of the URL it was made for (`ItemAuthenticator.urlFingerprint`). The rules:
///
/// - The id names a target (its own id, or one of its `aliases`: an id of an earlier release, or
///   the implicit id of its URL): with a fingerprint, the target's URL must still be the one the
///   retry was made for, else the delivery is refused (`urlChanged`) rather than sent elsewhere.
///   Without one (an item of an earlier release), the id alone decides, as it did then.
/// - The id names no target, but the fingerprint matches exactly one: the endpoint was renamed,
///   or moved between `WEBHOOK_ADDRESS` and the endpoints file, with the same URL. It gets the
///   delivery.
/// - An alias several targets share (the 32-bit ids of earlier releases collide, or two endpoints
///   have one URL), or a fingerprint several targets match: `ambiguous`, never a guess.
///
/// Pure and immutable: built once per configuration; the ledger and `dead replay` use it.
public struct TargetDirectory: Sendable {
    /// What a stored delivery's target id and fingerprint lead to.
    public enum Resolution: Sendable, Equatable {
        /// Deliver to this target.
        case target(Target)
        /// The id names this target, whose URL is no longer the one the delivery was made for.
        case urlChanged(Target)
        /// Several targets fit; the delivery must not pick one.
        case ambiguous([Target])
        /// No configured target fits.
        case unknown
    }

    public let targets: [Target]
    private let byID: [String: Target]
    private let byAlias: [String: [Target]]
    private let byFingerprint: [String: [Target]]
    private let fingerprints: [String: String]
    private let authenticator: ItemAuthenticator

    public init(targets: [Target], authenticator: ItemAuthenticator) {
        self.targets = targets
        self.authenticator = authenticator
        byID = Dictionary(targets.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        var aliases: [String: [Target]] = [:]
        var prints: [String: [Target]] = [:]
        var fingerprints: [String: String] = [:]
        for target in targets {
            for alias in Set(target.aliases) where alias != target.id { aliases[alias, default: []].append(target) }
            let print = authenticator.urlFingerprint(kind: target.kind, url: target.url)
            fingerprints[target.id] = print
            prints[print, default: []].append(target)
        }
        byAlias = aliases
        byFingerprint = prints
        self.fingerprints = fingerprints
    }

    /// The fingerprint of `target`'s URL, to store with a delivery for it; for a destination
    /// resolved from the event, of that destination (``Target/fenceText``).
    public func fingerprint(of target: Target) -> String? {
        target.destination == nil ? fingerprints[target.id] : authenticator.urlFingerprint(kind: target.kind, url: target.fenceText)
    }

    /// The target named `name`, if configured.
    public func target(named name: String) -> Target? { targets.first { $0.name == name } }

    /// Where a delivery stored with `id` and `fingerprint` (nil for items of earlier releases)
    /// goes; see the type's rules.
    public func resolve(id: String, fingerprint: String?) -> Resolution {
        let named: [Target]
        if let target = byID[id] {
            named = [target]
        } else {
            named = byAlias[id] ?? []
        }
        if named.count == 1, let target = named.first {
            // A routed endpoint's URL is the event's: the ledger fences it against the
            // destination it resolves again (`fingerprint(of:)` of the resolved target).
            guard let fingerprint, target.spec?.route == nil else { return .target(target) }
            return fingerprints[target.id] == fingerprint ? .target(target) : .urlChanged(target)
        }
        if let fingerprint {
            let matching = (byFingerprint[fingerprint] ?? []).filter { named.isEmpty || named.contains($0) }
            if matching.count == 1, let target = matching.first { return .target(target) }
            if matching.count > 1 { return .ambiguous(matching) }
        }
        return named.isEmpty ? .unknown : .ambiguous(named)
    }

    /// Pairs of configured endpoints whose ids are equal, by name: a configuration with any must
    /// not start (their deliveries and webhook-ids could not be told apart).
    public static func collisions(_ targets: [(name: String, id: String)]) -> [(String, String)] {
        var first: [String: String] = [:]
        var found: [(String, String)] = []
        for target in targets {
            if let other = first[target.id] {
                found.append((other, target.name))
            } else {
                first[target.id] = target.name
            }
        }
        return found
    }
}
