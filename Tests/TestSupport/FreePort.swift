import Foundation

/// A TCP port the kernel just handed out for 127.0.0.1 (bound to port 0, then released). Another
/// process can take it before the caller binds it; callers that can retry should.
public func freeTCPPort() throws -> Int {
    let (fd, port) = try boundTCPSocket(listening: false)
    close(fd)
    return port
}

/// A socket bound to a free port of 127.0.0.1 and listening on it, for tests of a port that is
/// already taken; the caller closes it.
public func occupiedTCPPort() throws -> (socket: Int32, port: Int) {
    try boundTCPSocket(listening: true)
}

private func boundTCPSocket(listening: Bool) throws -> (Int32, Int) {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw RedisServerError(message: "socket: errno \(errno)") }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
            bind(fd, pointer, length) == 0 && (!listening || listen(fd, 1) == 0) && getsockname(fd, pointer, &length) == 0
        }
    }
    guard bound else {
        close(fd)
        throw RedisServerError(message: "bind 127.0.0.1:0: errno \(errno)")
    }
    return (fd, Int(UInt16(bigEndian: address.sin_port)))
}

/// Launches a process serving HTTP on a port of 127.0.0.1 found free and returns it with its base
/// URL once `readyPath` answers 200. A port found free can be taken by another process before
/// ours binds it, so a process that does not answer is killed and launched again on another port
/// (three ports in all); a process that fails for another reason fails the same way three times,
/// and the error shows each log.
public func launchOnFreePort(_ what: String, readyPath: String = "/healthz", timeout: Double = 30,
                             _ launch: (Int) throws -> WorkerProcess) async throws -> (process: WorkerProcess, base: String) {
    var failures: [String] = []
    for _ in 0..<3 {
        let port = try freeTCPPort()
        let process = try launch(port)
        let base = "http://127.0.0.1:\(port)"
        do {
            try await HTTPCall.waitForStatus(200, at: "\(base)\(readyPath)", timeout: timeout)
            if process.isRunning { return (process, base) }
            failures.append("port \(port): \(what) exited\n\(process.log.suffix(1000))")
        } catch {
            failures.append("port \(port): \(error)\n\(process.log.suffix(1000))")
        }
        process.kill()
    }
    throw EventuallyTimeout(description: "no \(what) served \(readyPath):\n\(failures.joined(separator: "\n"))")
}
