import Foundation

extension WorkerTestCase {
    /// Writes an endpoints file (YAML) to a temporary path and returns the path.
    func endpointsFile(_ yaml: String) throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("endpoints-\(UUID().uuidString).yaml")
        try yaml.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }
}
