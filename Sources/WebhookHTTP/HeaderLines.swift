import CCurl
import Glibc

/// A `curl_slist` of request header lines whose nodes and text buffers belong to one easy handle
/// and are reused from request to request.
///
/// `curl_slist_append` costs two allocations per line (node and copy) and `curl_slist_free_all`
/// two frees, for every header of every request; here a request only copies its lines' bytes
/// into buffers that already exist. curl reads the list while the transfer runs and never frees
/// or changes it, so it may be rebuilt only between transfers (the curl thread's rule anyway).
final class HeaderLines {
    private var nodes: UnsafeMutablePointer<curl_slist>
    private var nodeCapacity: Int
    private var buffers: [UnsafeMutablePointer<CChar>] = []
    private var bufferCapacities: [Int] = []
    private(set) var count = 0
    /// Whether a buffer grew past `keptLineCapacity` (so `removeAll` has buffers to give back;
    /// otherwise it only resets the count).
    private(set) var holdsLargeLines = false
    /// A line buffer larger than this is given back after the request (an odd huge header must
    /// not pin memory in every handle).
    private static let keptLineCapacity = 1024

    init() {
        nodeCapacity = 8
        nodes = .allocate(capacity: nodeCapacity)
    }

    deinit {
        for buffer in buffers { buffer.deallocate() }
        nodes.deallocate()
    }

    /// Empties the list (the buffers stay for the next request).
    func removeAll() {
        count = 0
        guard holdsLargeLines else { return }
        holdsLargeLines = false
        for index in bufferCapacities.indices where bufferCapacities[index] > Self.keptLineCapacity {
            buffers[index].deallocate()
            bufferCapacities[index] = 64
            buffers[index] = .allocate(capacity: 64)
        }
    }

    /// Appends one header line (`"Name: value"`), copied with a terminating NUL.
    func append(_ line: String) {
        // A native string's bytes are read in place; only another kind is copied to a var first.
        if line.utf8.withContiguousStorageIfAvailable({ append($0) }) != nil { return }
        var line = line
        line.withUTF8 { bytes in append(bytes) }
    }

    /// Appends each line of `block` (the line feeds are not copied).
    func append(_ block: HeaderBlock) {
        block.bytes.withUnsafeBufferPointer { all in
            guard let base = all.baseAddress else { return }
            var start = 0
            while start < all.count, let found = memchr(base + start, 0x0A, all.count - start) {
                let end = base.distance(to: found.assumingMemoryBound(to: UInt8.self))
                append(UnsafeBufferPointer(rebasing: all[start..<end]))
                start = end + 1
            }
        }
    }

    func append(_ bytes: UnsafeBufferPointer<UInt8>) {
        if count == buffers.count {
            let capacity = max(64, bytes.count + 1)
            buffers.append(.allocate(capacity: capacity))
            bufferCapacities.append(capacity)
            if capacity > Self.keptLineCapacity { holdsLargeLines = true }
        } else if bufferCapacities[count] < bytes.count + 1 {
            buffers[count].deallocate()
            let capacity = max(bytes.count + 1, 2 * bufferCapacities[count])
            buffers[count] = .allocate(capacity: capacity)
            bufferCapacities[count] = capacity
            if capacity > Self.keptLineCapacity { holdsLargeLines = true }
        }
        let buffer = buffers[count]
        if let base = bytes.baseAddress {
            UnsafeMutableRawPointer(buffer).copyMemory(from: base, byteCount: bytes.count)
        }
        buffer[bytes.count] = 0
        count += 1
    }

    /// Links the nodes and returns the list's head, valid until the next change; nil when empty.
    func list() -> UnsafeMutablePointer<curl_slist>? {
        guard count > 0 else { return nil }
        if nodeCapacity < count {
            nodes.deallocate()
            nodeCapacity = max(count, 2 * nodeCapacity)
            nodes = .allocate(capacity: nodeCapacity)
        }
        for index in 0..<count {
            nodes[index] = curl_slist(data: buffers[index], next: index + 1 < count ? nodes + index + 1 : nil)
        }
        return nodes
    }
}
