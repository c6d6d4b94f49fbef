import ArgumentParser
import WebhookCore

/// `webhook-worker keys`: Ed25519 keys for Standard Webhooks `v1a` signatures. The worker signs
/// with the secret key (`whsk_`, WEBHOOK_SIGNING_KEY or an endpoint's `signing_key`); receivers
/// verify with the public key (`whpk_`) alone.
struct KeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Make an Ed25519 signing key pair; show the public key of the configured one.",
        subcommands: [Generate.self, Public.self])

    struct Generate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a new key pair: the whsk_ secret key, then its whpk_ public key.",
            discussion: """
                The first line is the secret (WEBHOOK_SIGNING_KEY, or signing_key: in the endpoints \
                file): keep it like a password. The second is the public key for receivers.
                """)

        func run() {
            let key = AsymmetricSigningKey.generate()
            print(key.secretKeyText)
            print(key.publicKeyText)
        }
    }

    struct Public: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the whpk_ public key of each configured signing key, newest first (never the secret).")
        @OptionGroup var options: ConfigOptions
        @Option(help: "An endpoint's keys instead of WEBHOOK_SIGNING_KEY's (its signing_key, or the inherited one).")
        var endpoint: String?

        func run() throws {
            let configuration = try options.load()
            let keys: [AsymmetricSigningKey]
            let source: String
            if let endpoint {
                guard let spec = configuration.endpoints.specs.first(where: { $0.name == endpoint }) else {
                    let names = configuration.endpoints.specs.map(\.name).joined(separator: ", ")
                    throw ValidationError("no endpoint is named '\(endpoint)'; known: \(names.isEmpty ? "none" : names)")
                }
                keys = spec.signingKeys
                source = "endpoint '\(endpoint)'"
            } else {
                keys = configuration.endpoints.signingKeys
                source = "WEBHOOK_SIGNING_KEY"
            }
            guard !keys.isEmpty else {
                throw ValidationError("\(source) has no signing key (make one with `webhook-worker keys generate`)")
            }
            for key in keys { print(key.publicKeyText) }
        }
    }
}
