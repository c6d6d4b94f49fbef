extension EndpointsFile {
    /// Every endpoint the worker delivers to: the implicit ones from WEBHOOK_ADDRESS (kind
    /// webhook, in order) and DISCORD_WEBHOOK_URL (kind discord), then the file's.
    ///
    /// Implicit endpoints are named so the name stays put when the list is edited: a webhook
    /// address by its host (`hooks.example`, `127.0.0.1:8080` with an explicit port), or
    /// `address-N` (its position) when that is taken or unusable; Discord as `discord`. A name
    /// the file uses is never taken; an implicit URL the file also lists is dropped (with a
    /// warning) so the same receiver does not get every event twice.
    ///
    /// Checks the file's `notify` lists against the final names.
    /// - Parameters:
    ///   - addresses: WEBHOOK_ADDRESS's URLs, already checked as http(s).
    ///   - discordURL: DISCORD_WEBHOOK_URL, already checked.
    ///   - discordPerAdmin: WEBHOOK_DISCORD_PER_ADMIN: adds `discord-admin`, a Discord endpoint
    ///     whose URL is each event's `user.admin.discord_webhook` (Marzban's per-admin reports).
    public static func resolve(file: EndpointsFile?, addresses: [String], discordURL: String?,
                               discordPerAdmin: Bool = false, defaults: EndpointDefaults) throws(EndpointsFileError) -> (endpoints: [EndpointSpec], warnings: [String]) {
        let listed = file?.endpoints ?? []
        var warnings: [String] = []
        var implicit: [EndpointSpec] = []
        var taken = Set(listed.map(\.name))

        func claim(_ candidates: [String]) -> String {
            for candidate in candidates where isValidName(candidate) && !taken.contains(candidate) {
                taken.insert(candidate)
                return candidate
            }
            var suffix = 2
            while taken.contains("\(candidates.last!)-\(suffix)") { suffix += 1 }
            let name = "\(candidates.last!)-\(suffix)"
            taken.insert(name)
            return name
        }

        for (offset, url) in addresses.enumerated() {
            if let twin = listed.first(where: { $0.url == url }) {
                warnings.append("WEBHOOK_ADDRESS: '\(URLRedaction.redact(url))' is also endpoint '\(twin.name)' of \(file?.file ?? "the endpoints file"); delivering once, as '\(twin.name)'")
                continue
            }
            let name = claim([hostName(of: url), "address-\(offset + 1)"].compactMap { $0 })
            var spec = EndpointSpec(name: name, kind: .webhook, url: url, secrets: defaults.secret.map { [$0] } ?? [],
                                    compat: defaults.compat, timeout: defaults.timeout, concurrency: defaults.concurrency,
                                    isImplicit: true)
            if defaults.compat == .standard { spec.signingKeys = defaults.signingKeys }
            spec.ordering = defaults.implicitOrdering
            implicit.append(spec)
        }
        if let discordURL {
            if let twin = listed.first(where: { $0.url == discordURL }) {
                warnings.append("DISCORD_WEBHOOK_URL is also endpoint '\(twin.name)' of \(file?.file ?? "the endpoints file"); delivering once, as '\(twin.name)'")
            } else {
                implicit.append(EndpointSpec(name: claim(["discord"]), kind: .discord, url: discordURL, compat: defaults.compat,
                                             timeout: defaults.timeout, concurrency: defaults.concurrency,
                                             rate: .discordDefault, isImplicit: true))
            }
        }

        if discordPerAdmin {
            var spec = EndpointSpec(name: claim(["discord-admin"]), kind: .discord, url: "event:" + EndpointRoute.adminDiscordField,
                                    compat: defaults.compat, timeout: defaults.timeout, concurrency: defaults.concurrency,
                                    rate: .discordDefault, isImplicit: true)
            spec.route = EndpointRoute(field: EndpointRoute.adminDiscordField)
            implicit.append(spec)
        }

        let all = implicit + listed
        let names = Set(all.map(\.name))
        for endpoint in listed {
            for target in endpoint.notify {
                guard target != endpoint.name else {
                    throw EndpointsFileError(file: file?.file ?? "", endpoint: "'\(endpoint.name)'", field: "notify",
                                             message: "an endpoint cannot be told about its own outage; name another endpoint")
                }
                guard names.contains(target) else {
                    throw EndpointsFileError(file: file?.file ?? "", endpoint: "'\(endpoint.name)'", field: "notify",
                                             message: "no endpoint is named '\(target)'; known: \(all.map(\.name).joined(separator: ", "))")
                }
            }
        }
        return (all, (file?.warnings ?? []) + warnings)
    }

    /// The lowercased host of `url`, with the port when one is written; nil when it has none.
    static func hostName(of url: String) -> String? {
        guard let hostPort = URLAuthority.hostPort(of: url), !hostPort.isEmpty else { return nil }
        return hostPort.lowercased()
    }
}
