import FireWatchCore
import FireWatchStore
import Foundation
import Synchronization

/// Writes the readings archive on its own thread, so a slow disk, a WAL checkpoint or a full disk
/// delays archived readings, never a rule evaluation or an alarm's journal commit.
///
/// The pipeline hands over each drained batch (`submit`), which appends under a lock. The writer
/// commits at least every `flushInterval` seconds or every `batchSize` readings. Bounded: when the
/// backlog would pass `maxBacklog` readings (a burst faster than the disk), `submit` waits up to
/// `maxWait` for the writer to catch up — back-pressure that reaches the broker or the bus through
/// the reading queue, while the rules still run at least every `maxWait` — then refuses and counts.
/// While the archive refuses writes (disk full) readings are counted as not archived and the write
/// is retried every second.
final class ArchiveWriter: @unchecked Sendable {
    // @unchecked: the mutable state below is touched only while holding `condition`; the archive
    // itself lives on the writer thread only.
    struct Counters: Sendable, Equatable {
        /// Readings (and sample rows) committed.
        var archived = 0
        var samples = 0
        /// Readings not archived: refused while the disk was full or the backlog over its bound,
        /// or dropped by the archive after failed flushes.
        var notArchived = 0
        /// Readings handed over and not yet committed.
        var backlog = 0
    }

    private let condition = NSCondition()
    private var incoming: [[Reading]] = []
    private var stopping = false
    private var waitingSubmitters = 0
    /// The archive refuses writes (disk full): waiting for it to catch up would only stall the pipeline.
    private var refusing = false
    private var shared = Counters()
    private let finished = DispatchSemaphore(value: 0)
    let maxBacklog: Int
    let maxWait: Double
    let flushInterval: Double

    /// Opens the archive at `path` on a new thread and returns once it is open (or throws why not).
    /// - Parameters:
    ///   - storageFault: called (from the writer thread) when the archive refuses a write;
    ///     `storageWritable` when it writes again after that.
    init(path: String, now: Double, batchSize: Int = 200_000, flushInterval: Double = 1, maxBacklog: Int = 1_000_000,
         maxWait: Double = 0.25, log: @escaping @Sendable (String) -> Void, storageFault: @escaping @Sendable () -> Void,
         storageWritable: @escaping @Sendable () -> Void = {}) throws {
        self.maxBacklog = maxBacklog
        self.maxWait = maxWait
        self.flushInterval = flushInterval
        try startOwnerThread(name: "fw archive", finished: finished,
                             open: { try ReadingArchive(path: path, batchSize: batchSize, now: now) },
                             run: { [self] archive in run(archive, log: log, storageFault: storageFault, storageWritable: storageWritable) })
    }

    /// Hands readings to the writer. `hold`: the disk is full and its last reserve belongs to the
    /// journal, so these are counted as not archived instead.
    func submit(_ batches: [[Reading]], hold: Bool) {
        guard !batches.isEmpty else { return }
        let count = batches.reduce(0) { $0 + $1.count }
        condition.lock()
        defer { condition.unlock() }
        if !hold, !stopping, !refusing, shared.backlog + count > maxBacklog, count <= maxBacklog, maxWait > 0 {
            waitingSubmitters += 1
            condition.broadcast()  // the writer commits now instead of at its next interval
            let deadline = Date(timeIntervalSinceNow: maxWait)
            while shared.backlog + count > maxBacklog, !stopping, !refusing, condition.wait(until: deadline) {}
            waitingSubmitters -= 1
        }
        if hold || stopping || shared.backlog + count > maxBacklog {
            shared.notArchived += count
            return
        }
        incoming.append(contentsOf: batches)
        shared.backlog += count
        condition.broadcast()
    }

    var counters: Counters {
        condition.lock()
        defer { condition.unlock() }
        return shared
    }

    /// Commits what was handed over and stops the writer thread (idempotent).
    func stop() {
        condition.lock()
        let first = !stopping
        stopping = true
        condition.broadcast()
        condition.unlock()
        if first { finished.wait() }
    }

    private func run(_ archive: ReadingArchive, log: @Sendable (String) -> Void, storageFault: @Sendable () -> Void,
                     storageWritable: @Sendable () -> Void) {
        let clock = ContinuousClock()
        let start = clock.now
        func seconds() -> Double {
            let d = clock.now - start
            return Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
        }
        var work: [[Reading]] = []
        var lastFlush = seconds()
        var retryAt = 0.0
        var refusedSince = 0   // readings not archived since the archive started refusing writes
        var failing = false
        while true {
            // A waiting submitter makes the writer commit at once, when there is something it can commit.
            let canHelp = archive.pendingCount > 0 && seconds() >= retryAt
            condition.lock()
            refusing = failing
            if incoming.isEmpty, !stopping, waitingSubmitters == 0 || !canHelp {
                _ = condition.wait(until: Date(timeIntervalSinceNow: max(0.01, flushInterval - (seconds() - lastFlush))))
            }
            swap(&work, &incoming)
            let stop = stopping, urgent = waitingSubmitters > 0
            condition.unlock()

            let now = seconds()
            let handed = work.reduce(0) { $0 + $1.count }
            let committedBefore = archive.archivedCount, droppedBefore = archive.droppedCount
            if now < retryAt, !stop {
                refusedSince += handed
                note(notArchived: handed, committed: 0, samples: 0)
            } else {
                do {
                    let samplesBefore = archive.archivedSamples
                    for batch in work { try archive.add(batch) }
                    if stop || urgent || now - lastFlush >= flushInterval || archive.pendingCount >= archive.batchSize {
                        try archive.flush()
                        lastFlush = now
                    }
                    if failing {
                        log("readings archive writable again; \(refusedSince) readings were not archived meanwhile")
                        storageWritable()
                        failing = false
                        refusedSince = 0
                    }
                    note(notArchived: 0, committed: archive.archivedCount - committedBefore,
                         samples: archive.archivedSamples - samplesBefore)
                } catch {
                    if !failing { log("readings archive refused a write (\(error)); alarms go on, readings wait") }
                    failing = true
                    refusedSince += archive.droppedCount - droppedBefore
                    storageFault()
                    retryAt = now + 1
                    note(notArchived: archive.droppedCount - droppedBefore, committed: archive.archivedCount - committedBefore,
                         samples: 0)
                }
            }
            work.removeAll(keepingCapacity: true)
            if stop { break }
        }
        if archive.pendingCount > 0 {
            log("readings archive: \(archive.pendingCount) readings could not be written before stopping")
            note(notArchived: archive.pendingCount, committed: 0, samples: 0)
        }
    }

    /// Moves handed-over readings out of the backlog as they are committed or given up.
    private func note(notArchived: Int, committed: Int, samples: Int) {
        condition.lock()
        shared.notArchived += notArchived
        shared.archived += committed
        shared.samples += samples
        shared.backlog = max(0, shared.backlog - committed - notArchived)
        if waitingSubmitters > 0 { condition.broadcast() }
        condition.unlock()
    }
}
