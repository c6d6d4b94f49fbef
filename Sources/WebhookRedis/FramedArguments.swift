import WebhookCore

/// A command's arguments, framed as RESP (`$<length>\r\n<bytes>\r\n` each) into one buffer as
/// they are appended.
///
/// Why not `[[UInt8]]`: a settle passes two or more arguments per event, several hundred
/// events at a time. As an array of arrays each argument was retained into the array, again
/// into every array the script call prepended its head to, then copied into one buffer for
/// hiredis, which formatted that once more into its own output buffer. Framed here, the bytes
/// are copied once and written to the socket from where they are
/// (`RedisConnection.command(framed:_:name:)`).
public struct FramedArguments: Sendable {
    /// The framed arguments, without the `*<count>\r\n` line (added when sent).
    public private(set) var bytes: [UInt8] = []
    /// Arguments appended so far.
    public private(set) var count = 0

    public init() {}

    /// Empties the buffer, keeping its capacity (a settle reuses one: see `RedisQueue.settle`).
    public mutating func removeAll() {
        bytes.removeAll(keepingCapacity: true)
        count = 0
    }

    /// Makes room for `byteCount` more bytes.
    public mutating func reserveCapacity(_ byteCount: Int) {
        bytes.reserveCapacity(bytes.count + byteCount)
    }

    /// Appends one argument of exactly `length` bytes, which `write` appends in place: an
    /// argument built piece by piece needs no array of its own.
    public mutating func append(length: Int, _ write: (inout [UInt8]) -> Void) {
        bytes.append(UInt8(ascii: "$"))
        JSONWriter.appendInt(length, to: &bytes)
        appendLineEnd()
        let start = bytes.count
        write(&bytes)
        precondition(bytes.count - start == length, "an argument framed as \(length) bytes got \(bytes.count - start)")
        appendLineEnd()
        count += 1
    }

    /// Appends one binary-safe argument.
    public mutating func append(_ argument: [UInt8]) {
        argument.withUnsafeBytes { append(raw: $0) }
    }

    /// Appends one argument given as text (UTF-8).
    public mutating func append(_ text: String) {
        text.withUTF8Bytes { append(raw: UnsafeRawBufferPointer($0)) }
    }

    /// Appends one integer argument in decimal, as Redis parses it.
    public mutating func append(_ number: Int) {
        var length = number < 0 ? 2 : 1
        var rest = number.magnitude
        while rest >= 10 {
            rest /= 10
            length += 1
        }
        bytes.append(UInt8(ascii: "$"))
        JSONWriter.appendInt(length, to: &bytes)
        appendLineEnd()
        JSONWriter.appendInt(number, to: &bytes)
        appendLineEnd()
        count += 1
    }

    /// Appends every argument of `other`, in order.
    public mutating func append(contentsOf other: FramedArguments) {
        bytes.append(contentsOf: other.bytes)
        count += other.count
    }

    private mutating func append(raw argument: UnsafeRawBufferPointer) {
        bytes.append(UInt8(ascii: "$"))
        JSONWriter.appendInt(argument.count, to: &bytes)  // digits written in place, not through String
        appendLineEnd()
        bytes.append(contentsOf: argument)
        appendLineEnd()
        count += 1
    }

    private mutating func appendLineEnd() {
        bytes.append(UInt8(ascii: "\r"))
        bytes.append(UInt8(ascii: "\n"))
    }
}
