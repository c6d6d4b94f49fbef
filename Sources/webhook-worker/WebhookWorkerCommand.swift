import ArgumentParser

@main
struct WebhookWorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "webhook-worker",
        abstract: "Redis-backed webhook delivery, wire-compatible with Marzban's notifications.",
        discussion: """
            Configuration comes from the environment and an .env file in the working directory \
            (the environment wins); --set KEY=VALUE and the named flags override both.
            """,
        subcommands: [RunCommand.self, EnqueueCommand.self, StatusCommand.self, DeadCommand.self, IngestCommand.self,
                      EndpointsCommand.self, KeysCommand.self, LogCommand.self, DashboardCommand.self]
    )
}
