import Foundation

/// How to find the Redis master through Sentinel: REDIS_SENTINELS (`host:port,...`),
/// REDIS_SENTINEL_MASTER (the monitored master's name) and REDIS_SENTINEL_PASSWORD (the
/// sentinels' own `requirepass`, if any).
///
/// It travels inside ``RedisURL/sentinel`` so that every place that already takes a `RedisURL`
/// (queue, producer, probes, CLI) follows a failover without changing; the URL's host and port
/// are then unused, its password, user and database apply to the master.
public struct RedisSentinel: Sendable, Equatable, CustomStringConvertible {
    /// The sentinels, asked in this order.
    public var sentinels: [HostPort]
    /// The name the sentinels monitor the master under (`sentinel monitor <name> ...`).
    public var masterName: String
    /// The sentinels' password (not the master's).
    public var password: String?

    public init(sentinels: [HostPort], masterName: String, password: String? = nil) {
        self.sentinels = sentinels
        self.masterName = masterName
        self.password = password
    }

    /// Parses the three variables; nil when neither REDIS_SENTINELS nor REDIS_SENTINEL_MASTER is
    /// set. Each error names its variable; none repeats the password.
    public static func parse(sentinels: String?, master: String?, password: String?) throws(ConfigurationError) -> RedisSentinel? {
        let listText = sentinels?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        let name = master?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        let secret = password.flatMap { $0.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty ? nil : $0 }
        if listText.isEmpty && name.isEmpty {
            guard secret == nil else {
                throw ConfigurationError(variable: "REDIS_SENTINEL_PASSWORD", message: "is set but REDIS_SENTINELS is not")
            }
            return nil
        }
        guard !listText.isEmpty else {
            throw ConfigurationError(variable: "REDIS_SENTINELS", message: "required when REDIS_SENTINEL_MASTER is set: a comma-separated list of host:port")
        }
        guard !name.isEmpty else {
            throw ConfigurationError(variable: "REDIS_SENTINEL_MASTER", message: "required when REDIS_SENTINELS is set: the master's name in the sentinels' configuration")
        }
        guard name.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value != 0x7F }) else {
            throw ConfigurationError(variable: "REDIS_SENTINEL_MASTER", message: "must not contain spaces or control characters, got '\(name)'")
        }
        var list: [HostPort] = []
        for part in listText.split(separator: ",", omittingEmptySubsequences: false) {
            let item = part.trimmingCharacters(in: .whitespaces)
            guard !item.isEmpty else {
                throw ConfigurationError(variable: "REDIS_SENTINELS", message: "empty entry in '\(listText)'; expected host:port,host:port,...")
            }
            // HostPort reads ":26379" as "all interfaces", which is no address to connect to.
            guard !item.hasPrefix(":") else {
                throw ConfigurationError(variable: "REDIS_SENTINELS", message: "expected HOST:PORT, got '\(item)'")
            }
            let address = try HostPort(parsing: item, variable: "REDIS_SENTINELS")
            guard address.port > 0 else {
                throw ConfigurationError(variable: "REDIS_SENTINELS", message: "expected a port 1-65535, got '\(item)'")
            }
            if !list.contains(address) { list.append(address) }
        }
        return RedisSentinel(sentinels: list, masterName: name, password: secret)
    }

    /// `master 'name' via sentinels a:1,b:2`; never the password.
    public var description: String {
        "master '\(masterName)' via sentinels \(sentinels.map(\.description).joined(separator: ","))"
    }
}
