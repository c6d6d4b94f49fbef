extension RedisQueue.OrderedGauge {
    /// One line for `status` and `endpoints`: blocked keys and the oldest blocked head's age,
    /// then the keys and deliveries pending.
    public var summary: String {
        var text = "\(blockedKeys) key\(blockedKeys == 1 ? "" : "s") blocked"
        if let age = oldestBlockedAge { text += " (oldest head failing for \(Int(age.rounded())) s)" }
        return text + ", \(activeKeys) key\(activeKeys == 1 ? "" : "s") with pending events, \(pending) pending"
    }
}
