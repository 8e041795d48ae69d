#if canImport(Glibc)
import Glibc
#endif

/// Names the calling thread for the operating system (`top -H`, `ps -L`, `/proc/PID/task/*/comm`,
/// perf). Linux keeps 15 bytes: longer names are cut here, at a character boundary. Foundation's
/// `Thread.name` does not reach the OS for names over 15 bytes (the call fails), so every long-lived
/// thread calls this first, instead of setting `Thread.name`.
public func nameThisThread(_ name: String) {
    var bytes = 0
    var cut = ""
    for ch in name {
        let n = String(ch).utf8.count
        if bytes + n > 15 { break }
        bytes += n
        cut.append(ch)
    }
    #if canImport(Glibc)
    // proc(5): a thread may set its own name by writing /proc/thread-self/comm (what
    // pthread_setname_np does for another thread; that call is not visible to Swift here).
    let fd = open("/proc/thread-self/comm", O_WRONLY)
    guard fd >= 0 else { return }
    defer { close(fd) }
    _ = cut.withCString { write(fd, $0, strlen($0)) }
    #endif
}
