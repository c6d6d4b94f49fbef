import ArgumentParser
import Foundation
import Logging
import WebhookCore
import WebhookRedis

/// Options every subcommand shares: where the configuration comes from, and overrides.
struct ConfigOptions: ParsableArguments {
    @Option(name: .long, help: "The .env file to read (missing is fine).")
    var envFile: String = ".env"

    @Option(name: .long, help: "Redis URL, e.g. redis://:password@127.0.0.1:6379/0 (REDIS_URL).")
    var redisURL: String?

    @Option(name: .long, help: "Key prefix (REDIS_KEY_PREFIX).")
    var prefix: String?

    @Option(name: .customLong("set"), help: ArgumentHelp("Override any variable, e.g. --set WEBHOOK_TIMEOUT=5.", valueName: "KEY=VALUE"))
    var assignments: [String] = []

    /// Loads the configuration: .env < environment < flags. A bad value exits with a message that
    /// names the variable.
    func load(extra: [String: String] = [:]) throws -> Configuration {
        var overrides = extra
        for assignment in assignments {
            guard let eq = assignment.firstIndex(of: "="), eq != assignment.startIndex else {
                throw ValidationError("--set expects KEY=VALUE, got '\(assignment)'")
            }
            overrides[String(assignment[..<eq])] = String(assignment[assignment.index(after: eq)...])
        }
        if let redisURL { overrides["REDIS_URL"] = redisURL }
        if let prefix { overrides["REDIS_KEY_PREFIX"] = prefix }
        let dotEnv = try? String(contentsOfFile: envFile, encoding: .utf8)
        let variables = Configuration.merged(environment: ProcessInfo.processInfo.environment,
                                             dotEnvText: dotEnv, overrides: overrides)
        do {
            let configuration = try Configuration.load(variables)
            try ClusterPrefixCheck.verify(url: configuration.redis, prefix: configuration.keyPrefix)
            return configuration
        } catch {
            throw ValidationError("configuration: \(error)")
        }
    }
}

/// Sets up swift-log once: lines on standard error, at the configured level.
func makeLogger(_ configuration: Configuration, label: String = "webhook-worker") -> Logger {
    // A peer closing a socket mid-write (Redis restarting) must be an error, not a fatal signal.
    signal(SIGPIPE, SIG_IGN)
    LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
    var logger = Logger(label: label)
    logger.logLevel = Logger.Level(rawValue: configuration.logLevel.lowercased()) ?? .info
    for warning in configuration.warnings { logger.warning("\(warning)") }
    return logger
}
