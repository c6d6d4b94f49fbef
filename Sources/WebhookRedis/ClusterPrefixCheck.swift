import WebhookCore

/// The start-up check that a Redis Cluster gets a hash-tagged key prefix.
///
/// The scripts touch several keys at once; in a cluster that only works when they hash to one
/// slot, which a `{tag}` in the prefix guarantees. Without one the worker would start and then
/// fail every take with `CROSSSLOT`; stopping at start-up says how to fix it instead.
public enum ClusterPrefixCheck {
    /// Throws when the server at `url` runs in cluster mode and `prefix` has no hash tag.
    ///
    /// An unreachable Redis passes: `run` must start while Redis is down (it retries), and the
    /// other commands report the connection error themselves.
    public static func verify(url: RedisURL, prefix: String) throws(ConfigurationError) {
        guard !hasHashTag(prefix) else { return }
        let connection = LazyConnection(url: url, connectTimeout: 2)
        guard let reply = try? connection.run({ (connection) throws(RedisError) in try connection.command("INFO", "cluster") }),
              let info = reply.text else { return }
        let enabled = info.split(whereSeparator: \.isNewline).contains { $0.trimmingCharacters(in: .whitespaces) == "cluster_enabled:1" }
        guard enabled else { return }
        throw ConfigurationError(
            variable: "REDIS_KEY_PREFIX",
            message: "Redis at \(url) runs in cluster mode and the prefix '\(prefix)' has no {hash tag}, so the queue's keys would "
                + "land in different slots; put the prefix in braces, e.g. REDIS_KEY_PREFIX={\(prefix)}")
    }

    /// Whether Redis hashes every key starting with `prefix` by one tag: the first `{` is followed
    /// by a `}` with at least one character between them (Redis' rule for hash tags).
    public static func hasHashTag(_ prefix: String) -> Bool {
        guard let open = prefix.firstIndex(of: "{") else { return false }
        let rest = prefix[prefix.index(after: open)...]
        guard let close = rest.firstIndex(of: "}") else { return false }
        return close != rest.startIndex
    }
}
