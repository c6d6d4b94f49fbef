/// Removes fields from a JSON body by dotted path (`user.admin.discord_webhook`), for an
/// endpoint's `drop_fields`: the body is changed before it is signed, so the receiver verifies
/// exactly what it got. Every other byte (order, spacing, the rest of each object) is kept.
///
/// Why: Marzban puts each admin's Discord webhook URL (a credential) in `by` and `user.admin`;
/// an operator can keep those out of endpoints that have no use for them.
public enum DroppedFields {
    /// Splits `user.admin.discord_webhook` into its keys; nil for an empty segment.
    public static func path(_ text: String) -> [String]? {
        let keys = text.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        return keys.contains(where: \.isEmpty) ? nil : keys
    }

    /// `body` without the members at `paths` (each a list of keys from the top level; every
    /// duplicate of a key is removed, a missing key or a non-object on the way is skipped).
    /// A body that is not a JSON object is returned as it is.
    public static func removing(_ paths: [[String]], from body: [UInt8]) -> [UInt8] {
        var out = body
        for path in paths where !path.isEmpty {
            remove(path[...], in: &out, object: 0..<out.count)
        }
        return out
    }

    /// Removes `path` inside the object spanning `object` in `bytes`.
    private static func remove(_ path: ArraySlice<String>, in bytes: inout [UInt8], object: Range<Int>) {
        guard let document = try? JSONScanner.scan(bytes[object]), document.kind == .object else { return }
        let base = object.lowerBound
        let key = path.first!
        // From the last member backwards, so earlier ranges stay valid as bytes go.
        for (index, member) in document.members.enumerated().reversed() where member.key == key {
            if path.count > 1 {
                guard member.kind == .object else { continue }
                remove(path.dropFirst(), in: &bytes, object: (base + member.valueRange.lowerBound)..<(base + member.valueRange.upperBound))
                continue
            }
            // Take the member with the comma that separates it from its neighbour.
            let range: Range<Int>
            if index + 1 < document.members.count {
                range = (base + member.keyRange.lowerBound)..<(base + document.members[index + 1].keyRange.lowerBound)
            } else if index > 0 {
                range = (base + document.members[index - 1].valueRange.upperBound)..<(base + member.valueRange.upperBound)
            } else {
                range = (base + member.keyRange.lowerBound)..<(base + member.valueRange.upperBound)
            }
            bytes.removeSubrange(range)
        }
    }
}
