/// Header lines as bytes, each `Name: value` ended by a line feed: the lines a request makes
/// for itself (its id, its signatures, its timestamp) and its endpoint's constant ones.
///
/// Why not `[String]`: every delivery makes four such lines. As strings each was an allocation,
/// a UTF-8 validation of bytes the builder had just written as ASCII, a reference counted on
/// two threads, and a copy into the easy handle's buffers at the end anyway. Here they are one
/// array the builder writes into and the HTTP thread copies from.
///
/// A line must not hold a line feed or carriage return of its own (it would end the line, or
/// start another header): what is written here is the product's own text (ids, hex, base64,
/// digits) and the operator's endpoint headers, whose values start-up refuses with a line break
/// or control character in them; never a producer's.
public struct HeaderBlock: Sendable, Equatable {
    /// The lines, each ended by `\n`.
    public private(set) var bytes: [UInt8] = []

    public init() {}

    /// An empty block writing into `storage`'s memory (a buffer given back by a finished
    /// request; see `RequestBuilder.recycle`), with room for `capacity` bytes.
    public init(reusing storage: consuming [UInt8], capacity: Int) {
        bytes = consume storage
        bytes.removeAll(keepingCapacity: true)
        bytes.reserveCapacity(capacity)
    }

    /// Hands the block's memory over (the block is left empty, without storage).
    public mutating func takeStorage() -> [UInt8] {
        var storage: [UInt8] = []
        swap(&storage, &bytes)
        return storage
    }

    public var isEmpty: Bool { bytes.isEmpty }

    /// Appends `line` (`Name: value`).
    public mutating func append(_ line: String) {
        bytes.append(contentsOf: line.utf8)
        bytes.append(UInt8(ascii: "\n"))
    }

    /// Appends lines already ended by line feeds (an endpoint's constant lines, rendered once).
    public mutating func append(lines: [UInt8]) {
        precondition(lines.last.map { $0 == UInt8(ascii: "\n") } ?? true, "header lines end with a line feed")
        bytes.append(contentsOf: lines)
    }

    /// Appends one line written by `write` into the bytes (the caller writes `Name: value`;
    /// the line feed is added after it).
    public mutating func appendLine(_ write: (inout [UInt8]) -> Void) {
        write(&bytes)
        bytes.append(UInt8(ascii: "\n"))
    }

    /// Empties the block, keeping its storage.
    public mutating func removeAll() {
        bytes.removeAll(keepingCapacity: true)
    }

    /// The lines as strings, without their line feeds (for tests and logs; the HTTP thread
    /// reads `bytes`).
    public var lines: [String] {
        bytes.split(separator: UInt8(ascii: "\n")).map { String(decoding: $0, as: UTF8.self) }
    }
}
