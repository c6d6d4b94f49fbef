/// The JSON type of a value found by ``JSONScanner``.
public enum JSONKind: String, Sendable, Equatable {
    case object, array, string, number, bool, null
}

/// One member of the top-level object: its decoded key and where its key and value sit.
///
/// Ranges are byte offsets into the scanned input. `keyRange` includes the quotes; `valueRange`
/// covers exactly the value's bytes (no surrounding whitespace).
public struct JSONMember: Sendable, Equatable {
    public let key: String
    public let keyRange: Range<Int>
    public let valueRange: Range<Int>
    public let kind: JSONKind

    public init(key: String, keyRange: Range<Int>, valueRange: Range<Int>, kind: JSONKind) {
        self.key = key
        self.keyRange = keyRange
        self.valueRange = valueRange
        self.kind = kind
    }
}

/// The top-level structure of a validated JSON text. Only the first level is recorded:
/// nested values are validated but not materialised.
public struct JSONDocument: Sendable, Equatable {
    /// The kind of the top-level value.
    public let kind: JSONKind
    /// The members of a top-level object, in input order (duplicates kept); empty otherwise.
    public let members: [JSONMember]
    /// The byte ranges of the elements of a top-level array; empty otherwise.
    public let elements: [Range<Int>]
    /// The byte range of the top-level value, without surrounding whitespace.
    public let range: Range<Int>

    public init(kind: JSONKind, members: [JSONMember], elements: [Range<Int>], range: Range<Int>) {
        self.kind = kind
        self.members = members
        self.elements = elements
        self.range = range
    }

    /// The last member named `key` (JSON parsers commonly let the last duplicate win).
    public func member(_ key: String) -> JSONMember? {
        members.last { $0.key == key }
    }
}
