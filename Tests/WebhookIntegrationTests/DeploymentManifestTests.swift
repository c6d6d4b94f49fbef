import Foundation
import WebhookCore
import XCTest

/// The Kubernetes kit (`deploy/kubernetes`), the compose files and the Dockerfile, checked with
/// the real tools: `kubectl kustomize` renders the kit, `kubernetes-validate --strict` validates
/// every core resource against the Kubernetes schema (unknown fields are errors), and
/// `docker-compose config -q` validates the compose files (no Docker engine needed).
///
/// The KEDA resources have no schema in kubernetes-validate (it warns and skips them), so their
/// links are checked here instead: the ScaledObject targets the worker Deployment, watches
/// `<prefix>:queue`, and its TriggerAuthentication reads keys that exist. The values operators
/// must keep in step (Redis address, password and database in two Secrets; probe ports and
/// listen addresses; the image's user and the pods' `runAsUser`) are compared too.
///
/// A missing tool skips the tests on a developer's machine and fails them under `CI=true`;
/// `scripts/test` installs all of them.
final class DeploymentManifestTests: XCTestCase {
    static let repo = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    var scratch: URL!

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory
            .appendingPathComponent("manifests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: scratch)
    }

    // MARK: - Kubernetes

    func testKitRendersAndEveryCoreResourceValidatesStrictly() throws {
        let rendered = try render()
        let python = try requireKubernetesValidate()
        let result = try run(python, ["-m", "kubernetes_validate", "--strict", "-"], stdin: rendered.file)
        XCTAssertEqual(result.status, 0, "kubernetes-validate --strict failed:\n\(result.output)")

        // Every resource that is not KEDA's must have passed the schema, not merely been skipped.
        let lines = result.output.split(separator: "\n").map(String.init)
        XCTAssertFalse(lines.contains { $0.hasPrefix("ERROR") || $0.hasPrefix("FATAL") }, result.output)
        let passed = Set(lines.compactMap { line -> String? in
            guard line.hasPrefix("INFO"), let range = line.range(of: "passed for resource ") else { return nil }
            return line[range.upperBound...].split(separator: " ").first.map(String.init)
        })
        let core = rendered.documents.filter { !Self.isCustomResource($0) }
        let expected = Set(core.map { "\(kind($0).lowercased())/\(name($0))" })
        XCTAssertEqual(passed, expected, "resources that passed strict validation, against the rendered core resources")
        for required in ["deployment", "service", "configmap", "secret", "poddisruptionbudget"] {
            XCTAssertTrue(expected.contains { $0.hasPrefix(required + "/") }, "the kit has no \(required)")
        }
        // The only skipped resources are the two KEDA kinds and the PrometheusRule.
        let warned = lines.filter { $0.hasPrefix("WARN") }
        XCTAssertEqual(warned.count, rendered.documents.count - core.count, result.output)
        for line in warned {
            XCTAssertTrue((line.contains("keda.sh/v1alpha1")
                           && (line.contains("kind ScaledObject ") || line.contains("kind TriggerAuthentication ")))
                          || (line.contains("monitoring.coreos.com/v1") && line.contains("kind PrometheusRule ")),
                          "unexpected warning: \(line)")
        }
    }

    /// Kinds kubernetes-validate has no schema for (their links are checked by their own tests).
    static func isCustomResource(_ doc: [String: Any]) -> Bool {
        let version = doc["apiVersion"] as? String ?? ""
        return version.hasPrefix("keda.sh/") || version.hasPrefix("monitoring.coreos.com/")
    }

    /// The kit's PrometheusRule carries exactly the groups of `deploy/monitoring/alerts.yaml`
    /// (which `MonitoringTests` checks with promtool and against live /metrics).
    func testThePrometheusRuleCarriesTheMonitoringAlertRules() throws {
        let docs = try render().documents
        let rule = try XCTUnwrap(only(docs, kind: "PrometheusRule"), "one PrometheusRule")
        XCTAssertEqual(apiVersion(rule), "monitoring.coreos.com/v1")
        let python = try requireKubernetesValidate()
        let text = try String(contentsOf: Self.repo.appendingPathComponent("deploy/monitoring/alerts.yaml"), encoding: .utf8)
        let file = try XCTUnwrap(try yamlDocuments(text, python: python).first)
        let kitGroups = try JSONSerialization.data(withJSONObject: try XCTUnwrap(value(rule, "spec", "groups")), options: .sortedKeys)
        let fileGroups = try JSONSerialization.data(withJSONObject: try XCTUnwrap(file["groups"]), options: .sortedKeys)
        XCTAssertEqual(String(decoding: kitGroups, as: UTF8.self), String(decoding: fileGroups, as: UTF8.self),
                       "deploy/kubernetes/prometheus-rule.yaml's spec.groups differ from deploy/monitoring/alerts.yaml")
        XCTAssertEqual(Set(rule.keys), ["apiVersion", "kind", "metadata", "spec"])
        XCTAssertEqual(Set((rule["spec"] as? [String: Any] ?? [:]).keys), ["groups"])
    }

    func testWorkerAndBridgeAreProbedStoppedGracefullyHardenedAndBounded() throws {
        let docs = try render().documents
        let config = try XCTUnwrap(only(docs, kind: "ConfigMap"), "one ConfigMap")
        let grace = Int(string(config, "data", "WEBHOOK_SHUTDOWN_GRACE") ?? "8") ?? -1
        XCTAssertGreaterThanOrEqual(grace, 0, "WEBHOOK_SHUTDOWN_GRACE in the ConfigMap is not a number")

        let worker = try deployment(docs, firstArgument: "run")
        let bridge = try deployment(docs, firstArgument: "ingest")
        let workerContainer = try container(worker)
        let bridgeContainer = try container(bridge)

        // The probes are the paths the worker and the bridge serve, on the port they listen on.
        let metricsListen = (workerContainer["env"] as? [[String: Any]])?
            .first { $0["name"] as? String == "WEBHOOK_METRICS_LISTEN" }?["value"] as? String
        XCTAssertEqual(metricsListen.flatMap(port(ofListen:)), try probePort(workerContainer, "livenessProbe"),
                       "the worker's probes must hit the port of WEBHOOK_METRICS_LISTEN")
        let args = bridgeContainer["args"] as? [String] ?? []
        let listen = args.firstIndex(of: "--listen").flatMap { args.indices.contains($0 + 1) ? args[$0 + 1] : nil }
        XCTAssertEqual(listen.flatMap(port(ofListen:)), try probePort(bridgeContainer, "livenessProbe"),
                       "the bridge's probes must hit its --listen port")

        for (label, deployment, container) in [("worker", worker, workerContainer), ("bridge", bridge, bridgeContainer)] {
            XCTAssertEqual(string(container, "livenessProbe", "httpGet", "path"), "/livez", label)
            XCTAssertEqual(string(container, "readinessProbe", "httpGet", "path"), "/readyz", label)
            XCTAssertEqual(try probePort(container, "livenessProbe"), try probePort(container, "readinessProbe"), label)

            let pod = try XCTUnwrap(value(deployment, "spec", "template", "spec") as? [String: Any])
            let termination = pod["terminationGracePeriodSeconds"] as? Int ?? 30
            XCTAssertGreaterThan(termination, 8, "\(label): SIGKILL before the default shutdown grace ends")
            XCTAssertGreaterThan(Double(termination), Double(grace) + WorkerConfiguration.handBackBound,
                                 "\(label): SIGKILL before a stop may end (WEBHOOK_SHUTDOWN_GRACE + the hand-back bound)")

            // Security settings: the container's own value wins over the pod's.
            func effective(_ key: String) -> Any? {
                value(container, "securityContext", key) ?? value(pod, "securityContext", key)
            }
            XCTAssertEqual(effective("runAsNonRoot") as? Bool, true, "\(label): runAsNonRoot")
            let uid = effective("runAsUser") as? Int
            XCTAssertNotNil(uid, "\(label): runAsNonRoot needs a numeric runAsUser to be checked against")
            XCTAssertNotEqual(uid, 0, label)
            XCTAssertEqual(value(container, "securityContext", "readOnlyRootFilesystem") as? Bool, true, "\(label): readOnlyRootFilesystem")
            XCTAssertEqual(value(container, "securityContext", "allowPrivilegeEscalation") as? Bool, false, "\(label): allowPrivilegeEscalation")
            XCTAssertEqual(value(container, "securityContext", "capabilities", "drop") as? [String], ["ALL"], "\(label): capabilities")
            XCTAssertEqual(string(effective("seccompProfile"), "type"), "RuntimeDefault", "\(label): seccompProfile")

            for bound in ["requests", "limits"] {
                for resource in ["cpu", "memory"] {
                    XCTAssertNotNil(value(container, "resources", bound, resource), "\(label): resources.\(bound).\(resource)")
                }
            }

            // envFrom names the ConfigMap and the Secret the kit ships.
            let sources = container["envFrom"] as? [[String: Any]] ?? []
            let configMaps = sources.compactMap { string($0, "configMapRef", "name") }
            let secrets = sources.compactMap { string($0, "secretRef", "name") }
            XCTAssertEqual(configMaps, [name(config)], "\(label): envFrom configMapRef")
            XCTAssertEqual(secrets.count, 1, "\(label): envFrom secretRef")
            for secret in secrets {
                let keys = try secretValues(docs, named: secret).keys
                XCTAssertTrue(Set(keys).isSuperset(of: ["REDIS_URL", "WEBHOOK_SECRET", "INGEST_SECRET"]), "\(label): \(keys)")
            }
        }

        // One PodDisruptionBudget covers the workers, and the Service reaches the bridge.
        let workerLabels = value(worker, "spec", "template", "metadata", "labels") as? [String: String] ?? [:]
        let budgets = docs.filter { kind($0) == "PodDisruptionBudget" }.filter {
            selects(value($0, "spec", "selector", "matchLabels"), workerLabels)
        }
        XCTAssertEqual(budgets.count, 1, "PodDisruptionBudgets selecting the worker pods")
        let bridgeLabels = value(bridge, "spec", "template", "metadata", "labels") as? [String: String] ?? [:]
        let service = try XCTUnwrap(only(docs, kind: "Service"), "one Service")
        XCTAssertTrue(selects(value(service, "spec", "selector"), bridgeLabels), "the Service does not select the bridge pods")
        XCTAssertFalse(selects(value(service, "spec", "selector"), workerLabels), "the Service also selects worker pods")
        let servicePorts = value(service, "spec", "ports") as? [[String: Any]] ?? []
        XCTAssertEqual(servicePorts.count, 1)
        XCTAssertEqual(servicePorts.first.flatMap { resolvePort($0["targetPort"], in: bridgeContainer) },
                       listen.flatMap(port(ofListen:)), "the Service's targetPort is not the bridge's port")
    }

    /// README "Upgrading": workers of two releases must not run side by side, so the worker
    /// Deployment is replaced, not rolled; the bridge (raw events only) keeps rolling.
    func testWorkersOfTwoReleasesNeverRunSideBySide() throws {
        let docs = try render().documents
        XCTAssertEqual(string(try deployment(docs, firstArgument: "run"), "spec", "strategy", "type"), "Recreate")
        XCTAssertEqual(string(try deployment(docs, firstArgument: "ingest"), "spec", "strategy", "type"), "RollingUpdate")
    }

    func testKEDAScalesTheWorkerDeploymentOnTheQueueList() throws {
        let docs = try render().documents
        let worker = try deployment(docs, firstArgument: "run")
        let scaled = try XCTUnwrap(only(docs, kind: "ScaledObject"), "one ScaledObject")
        XCTAssertEqual(apiVersion(scaled), "keda.sh/v1alpha1")
        XCTAssertEqual(string(scaled, "spec", "scaleTargetRef", "name"), name(worker))
        XCTAssertEqual(string(scaled, "spec", "scaleTargetRef", "kind") ?? "Deployment", "Deployment")
        let minimum = value(scaled, "spec", "minReplicaCount") as? Int ?? 0
        let maximum = value(scaled, "spec", "maxReplicaCount") as? Int ?? 100
        XCTAssertGreaterThanOrEqual(minimum, 1, "workers also drive retries and recovery: never scale them to zero")
        XCTAssertGreaterThanOrEqual(maximum, minimum)

        let triggers = value(scaled, "spec", "triggers") as? [[String: Any]] ?? []
        XCTAssertEqual(triggers.count, 1)
        let trigger = try XCTUnwrap(triggers.first)
        XCTAssertEqual(trigger["type"] as? String, "redis")
        let config = try XCTUnwrap(only(docs, kind: "ConfigMap"))
        let prefix = string(config, "data", "REDIS_KEY_PREFIX") ?? "webhooks"
        XCTAssertEqual(string(trigger, "metadata", "listName"), "\(prefix):queue", "the list producers push onto")
        let listLength = string(trigger, "metadata", "listLength").flatMap { Int($0) }
        XCTAssertNotNil(listLength, "listLength must be a quoted integer")
        XCTAssertGreaterThan(listLength ?? 0, 0)

        // Address and password come from a TriggerAuthentication whose Secret has those keys, and
        // they name the same Redis, password and database as the workers' REDIS_URL.
        let authName = try XCTUnwrap(string(trigger, "authenticationRef", "name"), "authenticationRef")
        XCTAssertNil(value(trigger, "metadata", "password"), "a password in plain trigger metadata")
        let auth = try XCTUnwrap(docs.first { kind($0) == "TriggerAuthentication" && name($0) == authName },
                                 "TriggerAuthentication \(authName)")
        XCTAssertEqual(apiVersion(auth), "keda.sh/v1alpha1")
        var parameters: [String: String] = [:]
        for reference in value(auth, "spec", "secretTargetRef") as? [[String: Any]] ?? [] {
            let parameter = try XCTUnwrap(reference["parameter"] as? String)
            let secretName = try XCTUnwrap(reference["name"] as? String)
            let key = try XCTUnwrap(reference["key"] as? String)
            let secret = try secretValues(docs, named: secretName)
            parameters[parameter] = try XCTUnwrap(secret[key], "Secret \(secretName) has no key \(key)")
        }
        XCTAssertEqual(Set(parameters.keys), ["address", "password"])

        let workerSources = try container(worker)["envFrom"] as? [[String: Any]] ?? []
        let workerSecret = try XCTUnwrap(workerSources.compactMap { string($0, "secretRef", "name") }.first)
        let redisURL = try XCTUnwrap(URLComponents(string: try XCTUnwrap(try secretValues(docs, named: workerSecret)["REDIS_URL"])))
        XCTAssertEqual(parameters["address"], "\(redisURL.host ?? ""):\(redisURL.port ?? 6379)", "KEDA watches another Redis than REDIS_URL")
        XCTAssertEqual(parameters["password"], redisURL.password, "KEDA's password differs from REDIS_URL's")
        let database = redisURL.path.split(separator: "/").first.map(String.init) ?? "0"
        XCTAssertEqual(string(trigger, "metadata", "databaseIndex") ?? "0", database, "KEDA watches another database than REDIS_URL")
    }

    func testImageRunsAsTheNumericUserThePodsExpect() throws {
        let dockerfile = try String(contentsOf: Self.repo.appendingPathComponent("Dockerfile"), encoding: .utf8)
        let lines = dockerfile.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        let finalStage = lines.lastIndex { $0.uppercased().hasPrefix("FROM ") } ?? 0
        XCTAssertGreaterThan(finalStage, 0, "the Dockerfile has one stage: build and runtime should be separate")
        let user = try XCTUnwrap(lines[finalStage...].last { $0.uppercased().hasPrefix("USER ") }, "the runtime stage sets no USER")
        let ids = user.dropFirst(5).trimmingCharacters(in: .whitespaces).split(separator: ":").map { Int($0) }
        XCTAssertTrue(!ids.isEmpty && ids.allSatisfy { $0 != nil && $0 != 0 }, "USER must be numeric and not root: \(user)")

        let docs = try render().documents
        for deployment in docs where kind(deployment) == "Deployment" {
            let pod = value(deployment, "spec", "template", "spec")
            XCTAssertEqual(value(pod, "securityContext", "runAsUser") as? Int, ids.first ?? nil, name(deployment))
            if ids.count > 1 {
                XCTAssertEqual(value(pod, "securityContext", "runAsGroup") as? Int, ids[1], name(deployment))
            }
        }
    }

    // MARK: - Compose

    func testComposeFilesAreValidAndHealthCheckLivez() throws {
        let compose = try requireTool("docker-compose")
        let python = try requireKubernetesValidate()
        for file in ["docker-compose.yml", "docker-compose.sentinel.yml"] {
            let path = Self.repo.appendingPathComponent(file).path
            let check = try run(compose, ["-f", path, "config", "-q"])
            XCTAssertEqual(check.status, 0, "\(file):\n\(check.output)")
            let resolved = try run(compose, ["-f", path, "config"])
            XCTAssertEqual(resolved.status, 0, "\(file):\n\(resolved.output)")
            let services = try XCTUnwrap(try yamlDocuments(resolved.stdout, python: python).first?["services"] as? [String: [String: Any]], file)

            var probed = 0
            for (serviceName, service) in services {
                let command = service["command"] as? [String] ?? []
                let environment = service["environment"] as? [String: Any] ?? [:]
                let port: Int?
                switch command.first {
                case "run":
                    port = (environment["WEBHOOK_METRICS_LISTEN"] as? String).flatMap(self.port(ofListen:))
                case "ingest":
                    let flag = command.firstIndex(of: "--listen").flatMap { command.indices.contains($0 + 1) ? command[$0 + 1] : nil }
                    port = self.port(ofListen: flag ?? (environment["INGEST_LISTEN"] as? String) ?? "0.0.0.0:8080")
                default:
                    continue
                }
                probed += 1
                let test = (value(service, "healthcheck", "test") as? [String] ?? []).joined(separator: " ")
                XCTAssertTrue(test.contains("127.0.0.1:\(port ?? -1)/livez"), "\(file) \(serviceName): health check \(test)")
            }
            XCTAssertEqual(probed, 2, "\(file): a worker and a bridge with health checks")
        }
    }

    func testSentinelComposeRunsAReplicaThreeSentinelsAndPointsWorkersAtThem() throws {
        let compose = try requireTool("docker-compose")
        let python = try requireKubernetesValidate()
        let path = Self.repo.appendingPathComponent("docker-compose.sentinel.yml").path
        let resolved = try run(compose, ["-f", path, "config"])
        XCTAssertEqual(resolved.status, 0, resolved.output)
        let services = try XCTUnwrap(try yamlDocuments(resolved.stdout, python: python).first?["services"] as? [String: [String: Any]])
        func commandText(_ service: [String: Any]) -> String { (service["command"] as? [String] ?? []).joined(separator: " ") }

        let sentinels = services.filter { commandText($0.value).contains("--sentinel") }
        XCTAssertEqual(sentinels.count, 3, "sentinel services")
        XCTAssertEqual(services.values.filter { commandText($0).contains("--replicaof") }.count, 1, "replicas")
        // Every sentinel monitors the same master name, with quorum 2.
        let monitors = Set(sentinels.values.compactMap { service -> String? in
            commandText(service).split(separator: "\n").first { $0.contains("sentinel monitor ") }.map(String.init)
        })
        XCTAssertEqual(monitors.count, 1, "\(monitors)")
        let monitor = try XCTUnwrap(monitors.first).split(separator: " ").map(String.init)
        XCTAssertEqual(monitor.count, 6, "sentinel monitor <name> <host> <port> <quorum>")
        XCTAssertEqual(monitor.last, "2")
        XCTAssertNotNil(services[monitor[3]], "the sentinels monitor \(monitor[3]), which is no service")

        var clients = 0
        for (serviceName, service) in services where ["run", "ingest"].contains((service["command"] as? [String])?.first ?? "") {
            clients += 1
            let environment = service["environment"] as? [String: Any] ?? [:]
            XCTAssertEqual(environment["REDIS_SENTINEL_MASTER"] as? String, monitor[2], serviceName)
            let addresses = (environment["REDIS_SENTINELS"] as? String ?? "").split(separator: ",").map(String.init)
            XCTAssertEqual(Set(addresses), Set(sentinels.keys.map { "\($0):26379" }), "\(serviceName): REDIS_SENTINELS")
        }
        XCTAssertEqual(clients, 2, "a worker and a bridge")
    }
}

struct ManifestError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
