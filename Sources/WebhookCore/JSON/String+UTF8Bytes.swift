extension String {
    /// Runs `body` on the string's UTF-8 bytes: in place for a native string, from a copy only
    /// for another kind (bridged, or not yet decoded).
    ///
    /// Why not `withUTF8`: it is `mutating`, so a borrowed string is first copied into a `var`,
    /// a retain and a release per call; the writers of attempt records, settle arguments and
    /// webhook ids call this for several strings per delivery. (WebhookHTTP's `HeaderLines`
    /// does the same by hand: that module does not depend on this one.)
    ///
    /// Inlinable so that callers in other modules (the send hook, the settle's writer) get a
    /// specialized copy: called generically, each call looked `Optional<Result>`'s metadata up
    /// in the runtime's cache (about 300 instructions per delivery on the HTTP thread).
    @inlinable
    public func withUTF8Bytes<Result>(_ body: (UnsafeBufferPointer<UInt8>) throws -> Result) rethrows -> Result {
        if let result = try utf8.withContiguousStorageIfAvailable(body) { return result }
        var copy = self
        return try copy.withUTF8(body)
    }
}
