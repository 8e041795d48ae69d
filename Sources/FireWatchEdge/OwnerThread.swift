import FireWatchCore
import Foundation
import Synchronization

/// Starts a thread that opens what it will own (an SQLite connection belongs to the thread that
/// opened it), returns once that is open or throws why it could not be, then runs `run` with it on
/// the same thread. `finished` is signalled when the thread ends, also after a failed open.
@discardableResult
func startOwnerThread<Owned>(name: String, finished: DispatchSemaphore, open: @escaping @Sendable () throws -> Owned,
                             run: @escaping @Sendable (Owned) -> Void) throws -> Thread {
    let opened = DispatchSemaphore(value: 0)
    let failure = Mutex<(any Error)?>(nil)
    let thread = Thread {
        nameThisThread(name)
        let owned: Owned
        do {
            owned = try open()
        } catch {
            failure.withLock { $0 = error }
            opened.signal()
            finished.signal()
            return
        }
        opened.signal()
        run(owned)
        finished.signal()
    }
    thread.start()
    opened.wait()
    if let error = failure.withLock({ $0 }) { throw error }
    return thread
}
