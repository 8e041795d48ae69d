import FireWatchCore
import FireWatchStore
import Foundation
import Synchronization

/// An ingestion adapter the edge starts and stops (Modbus poller, MQTT ingest).
public protocol IngestSource: AnyObject, Sendable {
    func start()
    func stop()
}

/// How far the pipeline has got, readable from any thread (status, tests, benchmarks).
public final class EdgeProgress: Sendable {
    /// Readings the rule engine has evaluated.
    let evaluated = Atomic<Int>(0)
    fileprivate let archive = Mutex<ArchiveWriter?>(nil)

    public var readingsEvaluated: Int { evaluated.load(ordering: .relaxed) }
    /// Readings committed to the archive, and readings not archived (disk full, backlog over its bound).
    public var readingsArchived: Int { archive.withLock { $0?.counters.archived } ?? 0 }
    public var samplesArchived: Int { archive.withLock { $0?.counters.samples } ?? 0 }
    public var readingsNotArchived: Int { archive.withLock { $0?.counters.notArchived } ?? 0 }
}

/// The edge daemon: ingestion sources → bounded queue → one pipeline thread. `start()` returns once
/// the pipeline has opened its databases (or throws what went wrong); `stop()` is clean and idempotent.
public final class EdgeRuntime: @unchecked Sendable {
    // @unchecked: `sources` and `thread` are set in start() and read in stop(), which callers invoke
    // from one controlling thread; everything shared with the pipeline thread is the queue or atomics.
    public let queue: ReadingQueue
    public let monitor: EdgeMonitor
    public let progress = EdgeProgress()
    /// Set values of detectors registered while running, for the pipeline's rule engine.
    let registrations = EngineRegistrations()
    let setup: EdgePipeline.Setup
    let observer: any EdgeObserver
    let makeDelivery: @Sendable (EventJournal, (any GovernanceStore)?) throws -> any EventDelivery
    private var sources: [any IngestSource] = []
    private let stopFlag = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)
    private var thread: Thread?

    init(setup: EdgePipeline.Setup, observer: any EdgeObserver, queueCapacity: Int = 100_000,
         makeDelivery: @escaping @Sendable (EventJournal, (any GovernanceStore)?) throws -> any EventDelivery) {
        self.setup = setup
        self.observer = observer
        self.makeDelivery = makeDelivery
        queue = ReadingQueue(capacity: queueCapacity)
        monitor = EdgeMonitor()
    }

    /// Opens the pipeline on its own thread, then starts `sources` feeding it.
    public func start(sources: [any IngestSource]) throws {
        thread = try startOwnerThread(name: "fw pipeline", finished: finished, open: { [self] in
            let pipeline = try EdgePipeline(setup: setup, queue: queue, observer: observer, progress: progress,
                                            registrations: registrations, makeDelivery: makeDelivery)
            progress.archive.withLock { $0 = pipeline.archive }
            return pipeline
        }, run: { [self] pipeline in pipeline.run(stop: stopFlag) })
        self.sources = sources
        for s in sources { s.start() }
    }

    /// Stops sources first (no new readings), then lets the pipeline drain, flush and save.
    public func stop() {
        guard thread != nil, !stopFlag.load(ordering: .acquiring) else { return }
        for s in sources { s.stop() }
        stopFlag.store(true, ordering: .releasing)
        queue.close()
        finished.wait()
    }
}
