import Foundation
import XCTest

/// Tools and manifest readers for `DeploymentManifestTests`.
extension DeploymentManifestTests {
    // MARK: - Tools

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
        var output: String { stdout + stderr }
    }

    /// Renders the kit with `kubectl kustomize`; the output is kept in a file for piping.
    func render() throws -> (file: URL, documents: [[String: Any]]) {
        let kubectl = try requireTool("kubectl")
        let python = try requireKubernetesValidate()
        let result = try run(kubectl, ["kustomize", Self.repo.appendingPathComponent("deploy/kubernetes").path])
        XCTAssertEqual(result.status, 0, "kubectl kustomize failed:\n\(result.stderr)")
        guard result.status == 0 else { throw ManifestError("kubectl kustomize failed") }
        let file = scratch.appendingPathComponent("rendered.yaml")
        try Data(result.stdout.utf8).write(to: file)
        let documents = try yamlDocuments(result.stdout, python: python)
        XCTAssertFalse(documents.isEmpty, "kubectl kustomize rendered nothing")
        return (file, documents)
    }

    /// YAML documents as JSON objects, read by PyYAML (which kubernetes-validate depends on).
    func yamlDocuments(_ yaml: String, python: String) throws -> [[String: Any]] {
        let input = scratch.appendingPathComponent("input-\(UUID().uuidString).yaml")
        try Data(yaml.utf8).write(to: input)
        let script = "import sys, json, yaml; json.dump([d for d in yaml.safe_load_all(sys.stdin) if d is not None], sys.stdout)"
        let result = try run(python, ["-c", script], stdin: input)
        guard result.status == 0 else { throw ManifestError("YAML does not parse:\n\(result.stderr)") }
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]])
    }

    /// The path of `name` on PATH. Missing: a failure under CI=true, else a skip.
    func requireTool(_ name: String) throws -> String {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw missing("\(name) is not on PATH (scripts/test installs it)")
    }

    /// python3, checked to import kubernetes_validate (pip: kubernetes-validate) and yaml.
    func requireKubernetesValidate() throws -> String {
        let python = try requireTool("python3")
        let probe = try run(python, ["-c", "import kubernetes_validate, yaml"])
        guard probe.status == 0 else {
            throw missing("python3 cannot import kubernetes_validate: pip install kubernetes-validate (scripts/test does)")
        }
        return python
    }

    /// A missing tool fails the test, in CI and locally alike (`./scripts/test` installs every
    /// one): a skip would let a green run hide manifests nobody checked.
    func missing(_ message: String) -> Error {
        XCTFail(message)
        return ManifestError(message)
    }

    /// Runs a tool to completion (at most two minutes); output goes through files, so a large
    /// output cannot fill a pipe and stall it.
    func run(_ executable: String, _ arguments: [String], stdin: URL? = nil) throws -> Result {
        let id = UUID().uuidString
        let out = scratch.appendingPathComponent("\(id).out")
        let err = scratch.appendingPathComponent("\(id).err")
        FileManager.default.createFile(atPath: out.path, contents: nil)
        FileManager.default.createFile(atPath: err.path, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = Self.repo
        let outHandle = try FileHandle(forWritingTo: out)
        let errHandle = try FileHandle(forWritingTo: err)
        defer { try? outHandle.close(); try? errHandle.close() }
        process.standardOutput = outHandle
        process.standardError = errHandle
        process.standardInput = try stdin.map { try FileHandle(forReadingFrom: $0) } ?? FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(120)
        while process.isRunning {
            if Date() > deadline {
                process.terminate()
                process.waitUntilExit()
                throw ManifestError("\(executable) \(arguments.joined(separator: " ")) did not finish in 120 s")
            }
            Thread.sleep(forTimeInterval: 0.02)
        }
        return Result(status: process.terminationStatus,
                      stdout: (try? String(contentsOf: out, encoding: .utf8)) ?? "",
                      stderr: (try? String(contentsOf: err, encoding: .utf8)) ?? "")
    }

    // MARK: - Reading manifests

    func kind(_ doc: [String: Any]) -> String { doc["kind"] as? String ?? "" }
    func apiVersion(_ doc: [String: Any]) -> String { doc["apiVersion"] as? String ?? "" }
    func name(_ doc: [String: Any]) -> String { string(doc, "metadata", "name") ?? "" }

    /// The one resource of `kind`, or nil when there are none or several.
    func only(_ docs: [[String: Any]], kind wanted: String) -> [String: Any]? {
        let matches = docs.filter { kind($0) == wanted }
        return matches.count == 1 ? matches[0] : nil
    }

    /// The one Deployment whose container runs `webhook-worker <firstArgument>`.
    func deployment(_ docs: [[String: Any]], firstArgument: String) throws -> [String: Any] {
        let matches = docs.filter {
            kind($0) == "Deployment" && (value($0, "spec", "template", "spec", "containers", 0, "args") as? [String])?.first == firstArgument
        }
        XCTAssertEqual(matches.count, 1, "Deployments running `webhook-worker \(firstArgument)`")
        return try XCTUnwrap(matches.first, "no Deployment runs `webhook-worker \(firstArgument)`")
    }

    func container(_ deployment: [String: Any]) throws -> [String: Any] {
        let containers = value(deployment, "spec", "template", "spec", "containers") as? [[String: Any]] ?? []
        XCTAssertEqual(containers.count, 1, name(deployment))
        return try XCTUnwrap(containers.first)
    }

    /// A Secret's values, from `stringData` or base64 `data`.
    func secretValues(_ docs: [[String: Any]], named secretName: String) throws -> [String: String] {
        let secret = try XCTUnwrap(docs.first { kind($0) == "Secret" && name($0) == secretName }, "Secret \(secretName)")
        var values = secret["stringData"] as? [String: String] ?? [:]
        for (key, encoded) in secret["data"] as? [String: String] ?? [:] {
            values[key] = Data(base64Encoded: encoded).flatMap { String(data: $0, encoding: .utf8) }
        }
        return values
    }

    /// The container port a probe targets (a number or a named port).
    func probePort(_ container: [String: Any], _ probe: String) throws -> Int {
        try XCTUnwrap(resolvePort(value(container, probe, "httpGet", "port"), in: container), "\(probe) has no port")
    }

    func resolvePort(_ port: Any?, in container: [String: Any]) -> Int? {
        if let number = port as? Int { return number }
        guard let portName = port as? String else { return nil }
        return (container["ports"] as? [[String: Any]])?.first { $0["name"] as? String == portName }?["containerPort"] as? Int
    }

    func port(ofListen listen: String) -> Int? {
        listen.split(separator: ":").last.flatMap { Int($0) }
    }

    /// Whether a label selector matches a pod's labels.
    func selects(_ selector: Any?, _ labels: [String: String]) -> Bool {
        guard let selector = selector as? [String: String], !selector.isEmpty else { return false }
        return selector.allSatisfy { labels[$0.key] == $0.value }
    }

    /// A value at a path of keys (String) and indexes (Int).
    func value(_ root: Any?, _ path: Any...) -> Any? {
        var current = root
        for step in path {
            if let key = step as? String {
                current = (current as? [String: Any])?[key]
            } else if let index = step as? Int, let array = current as? [Any], array.indices.contains(index) {
                current = array[index]
            } else {
                return nil
            }
        }
        return current
    }

    func string(_ root: Any?, _ path: Any...) -> String? {
        var current = root
        for step in path { current = value(current, step) }
        return current as? String
    }
}
