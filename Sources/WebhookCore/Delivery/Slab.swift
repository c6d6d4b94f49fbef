/// Values kept under handles the slab makes: a handle is an array index in its low 32 bits and
/// that slot's generation in its high 32. A slot's generation changes when its value is
/// removed, so a stale handle (its value gone, the slot reused) finds nothing.
///
/// Why not a `Dictionary` keyed by a counter, as the ledger's events and requests were: every
/// lookup hashed its key (SipHash, a few hundred instructions) and probed, and every removal
/// rehashed a run of neighbours; each delivery met several. Here a lookup is an index and a
/// comparison, and a freed slot is reused, so the arrays stay as large as the most ever held.
///
/// Handle 0 is never made (generations start at 1): a zero token means "none" to callers.
struct Slab<Element> {
    private var values: [Element?] = []
    private var generations: [UInt32] = []
    private var free: [Int] = []
    /// Values held: every slot but the free ones.
    var count: Int { values.count - free.count }

    /// Stores `value`; returns its handle.
    mutating func insert(_ value: consuming Element) -> UInt64 {
        let slot: Int
        if let reused = free.popLast() {
            slot = reused
            values[slot] = consume value
        } else {
            slot = values.count
            values.append(consume value)
            generations.append(1)
        }
        return UInt64(generations[slot]) << 32 | UInt64(slot)
    }

    /// The slot of `handle`'s value, or nil when it was removed (or never made here).
    func slot(of handle: UInt64) -> Int? {
        let slot = Int(truncatingIfNeeded: handle & 0xFFFF_FFFF)
        guard slot < generations.count, generations[slot] == UInt32(truncatingIfNeeded: handle >> 32) else { return nil }
        return slot
    }

    /// The value in a live `slot` (from `slot(of:)`), read and changed in place: through the
    /// optional's storage, without copying the value out and back (which would retain every
    /// reference it holds and copy its arrays on the next append).
    subscript(slot slot: Int) -> Element {
        _read { yield values[slot]! }
        _modify { yield &values[slot]! }
    }

    /// The value of `handle`, nil when it was removed; changed in place through optional
    /// chaining (`slab[handle: h]?.field = x`), a no-op for a stale handle. Never assign nil
    /// through it: `remove(slot:)` removes.
    subscript(handle handle: UInt64) -> Element? {
        get { slot(of: handle).flatMap { values[$0] } }
        _modify {
            if let slot = slot(of: handle) {
                yield &values[slot]
            } else {
                var none: Element?
                yield &none
            }
        }
    }

    /// Removes the value in a live `slot` and returns it, moved out rather than copied.
    mutating func remove(slot: Int) -> Element {
        var out: Element? = nil
        swap(&out, &values[slot])
        generations[slot] &+= 1
        if generations[slot] == 0 { generations[slot] = 1 }
        free.append(slot)
        return out!
    }
}

extension Slab: Sendable where Element: Sendable {}
