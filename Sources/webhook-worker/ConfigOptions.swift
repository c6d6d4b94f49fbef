import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import WebhookCore
import WebhookRedis
import WebhookServer

/// Options every subcommand shares: where the configuration comes from, and overrides.
struct ConfigOptions: ParsableArguments {
    @Option(name: .long, help: "The .env file to read (default: .env in the working directory, if there is one; a file given here must exist).")
    var envFile: String?

    @Option(name: .long, help: "Redis URL, e.g. redis://:password@127.0.0.1:6379/0 (REDIS_URL).")
    var redisURL: String?

    @Option(name: .long, help: "Key prefix (REDIS_KEY_PREFIX).")
    var prefix: String?

    @Option(name: .customLong("set"), help: ArgumentHelp("Override any variable, e.g. --set WEBHOOK_TIMEOUT=5.", valueName: "KEY=VALUE"))
    var assignments: [String] = []

    /// Loads the configuration: .env < environment < flags. A bad value exits with a message that
    /// names the variable.
    ///
    /// Then sets up logging (LOG_FORMAT; call once per process) and logs the effective
    /// configuration: every known variable, its value and its source, secrets redacted; names
    /// that nothing reads (typos) as a warning.
    /// - Parameters:
    ///   - label: the logger label of the command.
    ///   - configurationLogLevel: `.info` for long-running commands, where the line answers "did
    ///     my setting apply"; one-shot commands keep their terminal output short with `.debug`.
    ///   - only: the variables the command reads (the bridge's), when not all of them: the line
    ///     shows only these.
    func load(extra: [String: String] = [:], label: String = "webhook-worker",
              configurationLogLevel: Logger.Level = .debug, only: [String]? = nil) throws -> Configuration {
        var overrides = extra
        for assignment in assignments {
            guard let eq = assignment.firstIndex(of: "="), eq != assignment.startIndex else {
                throw ValidationError("--set expects KEY=VALUE, got '\(assignment)'")
            }
            overrides[String(assignment[..<eq])] = String(assignment[assignment.index(after: eq)...])
        }
        if let redisURL { overrides["REDIS_URL"] = redisURL }
        if let prefix { overrides["REDIS_KEY_PREFIX"] = prefix }
        let envFile = self.envFile ?? ".env"
        let dotEnvText: String?
        if self.envFile != nil {
            // Given on purpose: a file that cannot be read is an error, not a silent default.
            guard FileManager.default.fileExists(atPath: envFile) else {
                throw ValidationError("--env-file \(envFile): no such file")
            }
            do {
                dotEnvText = try String(contentsOfFile: envFile, encoding: .utf8)
            } catch {
                throw ValidationError("--env-file \(envFile): cannot read it: \(error.localizedDescription)")
            }
        } else {
            dotEnvText = try? String(contentsOfFile: envFile, encoding: .utf8)
        }
        let environment = ProcessInfo.processInfo.environment
        let variables = Configuration.merged(environment: environment, dotEnvText: dotEnvText, overrides: overrides)
        let configuration: Configuration
        let format: LogFormat
        do {
            configuration = try Configuration.load(variables)
            format = try LogFormat.load(variables)
            try ClusterPrefixCheck.verify(url: configuration.redis.url, prefix: configuration.redis.keyPrefix)
        } catch {
            throw ValidationError("configuration: \(error)")
        }

        bootstrapLogging(format)
        var logger = Logger(label: label)
        logger.logLevel = Logger.Level(rawValue: configuration.logLevel) ?? .info
        let effective = EffectiveConfiguration(
            configuration: configuration, dotEnv: dotEnvText.map(DotEnv.parse) ?? [:],
            environment: environment, flags: overrides)
        // JSON: an object per variable, for machines. Text: one readable run, in table order.
        let shown = only.map { names in effective.settings.filter { names.contains($0.name) } } ?? effective.settings
        var settings: Logger.Metadata = [:]
        for setting in shown {
            settings[setting.name] = ["value": .string(setting.value), "source": .string(setting.source.rawValue)]
        }
        let text = shown.map { "\($0.name)=\($0.value) [\($0.source.rawValue)]" }.joined(separator: " ")
        logger.log(level: configurationLogLevel, "configuration", metadata: [
            "configuration": format == .json ? .dictionary(settings) : .string(text),
            "env_file": .string(envFile),
            "env_file_read": .stringConvertible(dotEnvText != nil),
        ])
        if !effective.unknown.isEmpty {
            logger.warning("unknown variables, ignored (a typo?)", metadata: [
                "variables": .array(effective.unknown.map { .string("\($0.name) (\($0.source.rawValue))") }),
            ])
        }
        return configuration
    }
}

/// Points swift-log at standard error in `format`. swift-log allows one bootstrap per process:
/// each command loads its configuration exactly once.
private func bootstrapLogging(_ format: LogFormat) {
    switch format {
    case .text: LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
    case .json: LoggingSystem.bootstrap { JSONLogHandler.standardError(label: $0) }
    }
}

/// The command's logger, at the configured level, after logging the configuration's warnings.
/// Call after ``ConfigOptions/load(extra:label:configurationLogLevel:only:)``, which sets up logging.
/// - Parameter warnings: false for a command the warnings are not about (they are all about
///   workers: endpoints, item keys, caps; the bridge has none of these).
func makeLogger(_ configuration: Configuration, label: String = "webhook-worker", warnings: Bool = true) -> Logger {
    // A peer closing a socket mid-write (Redis restarting) must be an error, not a fatal signal.
    signal(SIGPIPE, SIG_IGN)
    var logger = Logger(label: label)
    logger.logLevel = Logger.Level(rawValue: configuration.logLevel.lowercased()) ?? .info
    if warnings {
        for warning in configuration.warnings { logger.warning("\(warning)") }
    }
    return logger
}

/// Runs `services` until SIGTERM or SIGINT, stopping them in reverse order (service-lifecycle's
/// `ServiceGroup`); an error that stops them is logged, so that with LOG_FORMAT=json even the
/// last line is JSON, and ends the command with a failure status.
func serve(_ services: [any Service], logger: Logger) async throws {
    let group = ServiceGroup(configuration: .init(
        services: services.map { .init(service: $0) },
        gracefulShutdownSignals: [.sigterm, .sigint],
        logger: logger))
    do {
        try await group.run()
    } catch {
        logger.critical("stopped by an error", metadata: ["error": "\(error)"])
        throw ExitCode.failure
    }
}
