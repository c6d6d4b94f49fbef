/// Random identifiers of [0-9a-z]: tags, dead-letter ids, worker-id suffixes. The one generator,
/// so every id has the same alphabet and entropy per character (~5.17 bits).
public enum RandomToken {
    static let alphabet = Array("0123456789abcdefghijklmnopqrstuvwxyz".utf8)

    public static func make(_ length: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        return make(length, using: &generator)
    }

    /// The same from the caller's generator (the ledger takes its randomness as an input).
    public static func make(_ length: Int, using generator: inout some RandomNumberGenerator) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(length)
        for _ in 0..<length { out.append(alphabet[Int(generator.next(upperBound: UInt(alphabet.count)))]) }
        return String(decoding: out, as: UTF8.self)
    }
}
