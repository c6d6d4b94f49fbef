/// Where a variable's effective value came from, in increasing precedence after `default`:
/// `.env` < environment < flag (`--set`, `--redis-url`, a command's named options).
public enum ConfigurationSource: String, Sendable, Equatable {
    case `default`
    case dotEnv = ".env"
    case environment
    case flag

    /// The source whose value ``Configuration/merged(environment:dotEnvText:overrides:)``
    /// keeps for `name`, or `default` when that value is missing or blank (blank counts as
    /// unset, so the default applies even when a lower source has a value).
    public static func of(_ name: String, dotEnv: [String: String], environment: [String: String],
                          flags: [String: String]) -> ConfigurationSource {
        let winner: (String, ConfigurationSource)? = flags[name].map { ($0, .flag) }
            ?? environment[name].map { ($0, .environment) }
            ?? dotEnv[name].map { ($0, .dotEnv) }
        guard let (value, source) = winner, !value.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            return .default
        }
        return source
    }
}
