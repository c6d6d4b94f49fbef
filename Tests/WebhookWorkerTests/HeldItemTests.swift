@testable import WebhookWorker
import XCTest
import TestSupport

/// The room's dictionary of `HeldItem`s (a hash kept per item, handed to the dictionary as it
/// is) against one keyed by the bytes themselves, over random adds and removes of items that
/// often share their hashed ends (same first and last 32 bytes, another middle, so the same
/// hash): every item must stay findable after removals move its neighbours, and copies count
/// one by one.
final class HeldItemTests: XCTestCase {
    /// Items of 0 to 200 bytes; the long ones share their ends in groups and differ inside.
    private func pool() -> [[UInt8]] {
        var items: [[UInt8]] = [[], [1], Array("#abc {}".utf8)]
        for length in [7, 8, 9, 15, 16, 17, 63, 64, 65, 100, 200] {
            for middle in 0..<6 {
                var bytes = [UInt8](repeating: UInt8(middle), count: length)
                if length > 64 {
                    for index in 0..<32 { bytes[index] = 0xAA }
                    for index in (length - 32)..<length { bytes[index] = 0x55 }
                } else if length > 0 {
                    bytes[0] = UInt8(length)
                }
                items.append(bytes)
            }
        }
        return items
    }

    func testMatchesADictionaryOfCountsThroughRandomAddsAndRemoves() {
        var random = SplitMix64(seed: 0x5EED)
        let items = pool()
        var table: [HeldItem: Int] = [:]
        var model: [[UInt8]: Int] = [:]
        for step in 0..<20_000 {
            let item = items[Int.random(in: 0..<items.count, using: &random)]
            if Bool.random(using: &random) || model.isEmpty {
                table[HeldItem(item), default: 0] += 1
                model[item, default: 0] += 1
            } else {
                XCTAssertEqual(table[HeldItem(item)], model[item], "step \(step)")
                if let count = table[HeldItem(item)] { table[HeldItem(item)] = count > 1 ? count - 1 : nil }
                if let count = model[item] { model[item] = count > 1 ? count - 1 : nil }
            }
            if step % 97 == 0 {
                for candidate in items {
                    XCTAssertEqual(table[HeldItem(candidate)], model[candidate], "step \(step): \(candidate)")
                }
                XCTAssertEqual(table.count, model.count, "step \(step)")
            }
        }
        XCTAssertEqual(Dictionary(uniqueKeysWithValues: table.map { ($0.key.bytes, $0.value) }), model)
        // Emptied completely, it holds nothing.
        for item in model.keys { table[HeldItem(item)] = nil }
        XCTAssertTrue(table.isEmpty)
        XCTAssertFalse(items.contains { table[HeldItem($0)] != nil })
    }
}
