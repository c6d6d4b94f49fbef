#if canImport(Glibc)
import Glibc
#endif

/// Gives the heap's free pages back to the system, once per busy spell. Why: a burst leaves
/// several megabytes free in malloc's per-thread arenas, and glibc keeps them; an idle worker
/// (most of a fleet, most of the time) should hold only what it uses. The dispatcher calls
/// `workDone()` after each round and `idle()` after a second with nothing held: not done between
/// events under steady load, because a second of idleness comes first.
struct HeapTrim {
    /// Work was done since memory was last given back.
    private var busy = false

    /// A round did some work: the next idle second trims again.
    mutating func workDone() {
        busy = true
    }

    /// Whether an idle second should trim now (once per busy spell); the caller then calls
    /// `trim()` outside any lock (it takes milliseconds).
    mutating func shouldTrim() -> Bool {
        guard busy else { return false }
        busy = false
        return true
    }

    /// Hands malloc's free pages back.
    static func trim() {
        #if canImport(Glibc)
        // Looked up at run time: `malloc_trim` is glibc's own (malloc.h, which the Glibc module
        // does not import), and a C library without it simply keeps its pages.
        typealias Trim = @convention(c) (Int) -> Int32
        if let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim") {
            _ = unsafeBitCast(symbol, to: Trim.self)(0)
        }
        #endif
    }
}
