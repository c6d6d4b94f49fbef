/// Random identifiers of [0-9a-z]: tags, dead-letter ids, worker-id suffixes. The one generator,
/// so every id has the same alphabet and entropy per character (~5.17 bits).
public enum RandomToken {
    static let alphabet = Array("0123456789abcdefghijklmnopqrstuvwxyz".utf8)

    public static func make(_ length: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        return make(length, using: &generator)
    }

    /// The same from the caller's generator (the ledger takes its randomness as an input).
    ///
    /// Each 64-bit draw yields up to eight characters, one per byte, by rejection: a byte below
    /// 252 (7 x 36) picks `alphabet[byte % 36]` with no bias, a byte of 252 or more is dropped.
    /// Why: `SystemRandomNumberGenerator` makes a `getrandom` call per draw, and a draw per
    /// character cost the take's 16-character tag 16 system calls.
    public static func make(_ length: Int, using generator: inout some RandomNumberGenerator) -> String {
        String(unsafeUninitializedCapacity: length) { out in
            var count = 0
            while count < length {
                var word = generator.next()
                for _ in 0..<8 where count < length {
                    let byte = UInt8(truncatingIfNeeded: word)
                    word >>= 8
                    guard byte < 252 else { continue }
                    out[count] = alphabet[Int(byte % 36)]
                    count += 1
                }
            }
            return length
        }
    }
}
