/// Where the queue lives: the Redis server (directly or through Sentinel) and the prefix of every
/// key. Every command reads it: the worker and the bridge, and the CLI's `status`, `dead`,
/// `enqueue` and `endpoints`.
public struct RedisConfiguration: Sendable {
    /// REDIS_URL (`redis://127.0.0.1:6379/0`), with REDIS_SENTINELS, REDIS_SENTINEL_MASTER and
    /// REDIS_SENTINEL_PASSWORD in `url.sentinel` (default: no Sentinel). Its description redacts
    /// the passwords, so it is safe to log.
    public var url: RedisURL
    /// REDIS_KEY_PREFIX: the prefix of every key (`webhooks`). Workers, producers and the bridge
    /// must agree on it; a hash tag (`{webhooks}`) keeps every key in one Redis Cluster slot.
    public var keyPrefix: String

    /// REDIS_URL and the Sentinel variables, then REDIS_KEY_PREFIX.
    static func load(_ reader: ConfigurationReader) throws(ConfigurationError) -> RedisConfiguration {
        var url = try reader.string("REDIS_URL").map { (text) throws(ConfigurationError) in try RedisURL(parsing: text) } ?? .default
        url.sentinel = try RedisSentinel.parse(sentinels: reader.string("REDIS_SENTINELS"),
                                               master: reader.string("REDIS_SENTINEL_MASTER"),
                                               password: reader.secret("REDIS_SENTINEL_PASSWORD"))
        return RedisConfiguration(url: url, keyPrefix: try reader.name("REDIS_KEY_PREFIX") ?? "webhooks")
    }
}
