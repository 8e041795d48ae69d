import CMosquitto
import FireWatchCore
import Foundation
import Synchronization

/// One MQTT connection over libmosquitto: owns one `struct mosquitto *` and one network thread.
///
/// The client drives libmosquitto's loop on its own `Thread` (`mosquitto_threaded_set`) and does its
/// own connecting, so it comes up even when the broker is down at start (mosquitto #1903 makes
/// `connect_async` + `loop_start` give up in that case) and reconnects forever with a doubling
/// delay capped at `reconnectMaxSeconds`. Every connect resubscribes every topic given to `subscribe`.
/// Clean session is off (unless a one-shot client asks), so QoS 1 messages queued by the broker
/// while the client was away arrive.
///
/// Handlers (`onMessage`, `onConnect`, `onDisconnect`, `onPublished`) are installed before `start()`
/// and run on the network thread: they must not block (hand work to a queue). Topic and payload
/// are copied before `onMessage` runs.
///
/// Lifetime: the network thread holds the client strongly while it runs, so the C callbacks' user-data
/// pointer (unretained) is always valid; `stop()` ends the loop (disconnect, join) and `deinit`
/// destroys the handle — the Swift owner always outlives the C handle.
public final class MQTTClient: @unchecked Sendable {
    // @unchecked Sendable: `handle` is only used by libmosquitto's thread-safe entry points
    // (`publish`, `subscribe`, with `mosquitto_threaded_set(true)`) from other threads, and by the
    // network thread otherwise; mutable state lives in `state` (a Mutex); `handlers` is written only
    // before `start()` (enforced by a precondition) and read only by the network thread after
    // `Thread.start()`, which orders the writes before the reads.
    public typealias Log = @Sendable (String) -> Void

    private struct Handlers {
        var onMessage: (@Sendable (MQTTMessage) -> Void)?
        var onConnect: (@Sendable () -> Void)?
        var onDisconnect: (@Sendable (String) -> Void)?
        var onPublished: (@Sendable (Int32) -> Void)?
    }

    private struct State {
        var started = false
        var stopping = false
        var connected = false
        var connectedSinceSocket = false
        var subscriptions: [String: Int32] = [:]
        var connectCount = 0
    }

    /// `mosquitto_lib_init` once per process, on first use.
    private static let libraryInitialised: Bool = {
        mosquitto_lib_init()
        return true
    }()

    public let options: MQTTOptions
    private let handle: OpaquePointer
    private let log: Log
    private let state = Mutex(State())
    private let received = Atomic<Int>(0)
    private var handlers = Handlers()
    private let wake = NSCondition()
    private let finished = DispatchSemaphore(value: 0)
    /// The network thread's id, to tell a `stop()` from inside a handler.
    private let loopThread = Mutex<pthread_t?>(nil)

    /// Creates the handle and applies every option; throws when libmosquitto rejects one (e.g. a TLS
    /// file that cannot be read). Nothing touches the network before `start()`.
    public init(options: MQTTOptions, log: @escaping Log = { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }) throws(MQTTError) {
        _ = MQTTClient.libraryInitialised
        self.options = options
        self.log = log
        guard !options.clientID.isEmpty else {
            throw MQTTError(code: MOSQ_ERR_INVAL.rawValue, message: "a stable, non-empty client id is required (clean session is off)")
        }
        guard let h = mosquitto_new(options.clientID, options.cleanSession, nil) else {
            throw MQTTError(code: MOSQ_ERR_NOMEM.rawValue, message: "mosquitto_new failed (errno \(cmosquitto_errno()))")
        }
        handle = h
        mosquitto_user_data_set(h, Unmanaged.passUnretained(self).toOpaque())
        // From here every stored property is set: if an option below throws, Swift runs deinit,
        // which destroys the handle (destroying it here as well would be a double free).
        try check(mosquitto_threaded_set(h, true), "threaded_set")
        if options.username != nil || options.password != nil {
            try check(mosquitto_username_pw_set(h, options.username, options.password), "username_pw_set")
        }
        if let tls = options.tls {
            try check(mosquitto_tls_set(h, tls.caFile, nil, tls.certFile, tls.keyFile, nil),
                      "tls_set (ca \(tls.caFile), cert \(tls.certFile ?? "-"), key \(tls.keyFile ?? "-"))")
            if tls.insecure { try check(mosquitto_tls_insecure_set(h, true), "tls_insecure_set") }
        }
        if let will = options.will {
            let rc = will.payload.withUnsafeBytes { raw in
                mosquitto_will_set(h, will.topic, Int32(raw.count), raw.baseAddress, will.qos, will.retain)
            }
            try check(rc, "will_set (\(will.topic))")
        }
        installCallbacks()
    }

    deinit {
        mosquitto_destroy(handle)
    }

    // MARK: handlers (install before start)

    public var onMessage: (@Sendable (MQTTMessage) -> Void)? {
        get { handlers.onMessage }
        set { precondition(!isStarted, "install MQTTClient handlers before start()"); handlers.onMessage = newValue }
    }
    /// After every accepted CONNACK (subscriptions have been re-sent).
    public var onConnect: (@Sendable () -> Void)? {
        get { handlers.onConnect }
        set { precondition(!isStarted, "install MQTTClient handlers before start()"); handlers.onConnect = newValue }
    }
    /// After the connection ends, with the reason.
    public var onDisconnect: (@Sendable (String) -> Void)? {
        get { handlers.onDisconnect }
        set { precondition(!isStarted, "install MQTTClient handlers before start()"); handlers.onDisconnect = newValue }
    }
    /// The broker acknowledged the message with this id (PUBACK for QoS 1; sent for QoS 0).
    public var onPublished: (@Sendable (Int32) -> Void)? {
        get { handlers.onPublished }
        set { precondition(!isStarted, "install MQTTClient handlers before start()"); handlers.onPublished = newValue }
    }

    // MARK: state

    public var isConnected: Bool { state.withLock { $0.connected } }
    /// Accepted connects so far (1 after the first, +1 per reconnect).
    public var connectCount: Int { state.withLock { $0.connectCount } }
    public var messageCount: Int { received.load(ordering: .relaxed) }
    private var isStarted: Bool { state.withLock { $0.started } }
    private var isStopping: Bool { state.withLock { $0.stopping } }

    // MARK: operations

    /// Adds a subscription, kept for every later (re)connect; sent at once when connected.
    public func subscribe(_ topic: String, qos: Int32 = 1) {
        let connected = state.withLock { s in
            s.subscriptions[topic] = qos
            return s.connected
        }
        if connected { sendSubscribe(topic, qos: qos) }
    }

    /// Queues a message; returns its message id (matched later by `onPublished`). QoS 1 and 2
    /// messages are queued in memory while disconnected and sent on reconnect; QoS 0 needs a connection.
    @discardableResult
    public func publish(topic: String, payload: [UInt8], qos: Int32 = 1, retain: Bool = false) throws(MQTTError) -> Int32 {
        var mid: Int32 = 0
        let rc = payload.withUnsafeBytes { raw in
            mosquitto_publish(handle, &mid, topic, Int32(raw.count), raw.baseAddress, qos, retain)
        }
        try check(rc, "publish to \(topic)")
        return mid
    }

    /// Starts the network thread, which connects (retrying forever) and runs until `stop()`.
    public func start() {
        let first = state.withLock { s -> Bool in
            defer { s.started = true }
            return !s.started
        }
        precondition(first, "MQTTClient.start() called twice")
        let t = Thread { [self] in
            nameThisThread("fw mqtt \(self.options.clientID)")
            self.loopThread.withLock { $0 = pthread_self() }
            self.run()
            self.finished.signal()
        }
        t.start()
    }

    /// Disconnects cleanly and joins the network thread (at most about one loop timeout plus the
    /// DISCONNECT flush). Safe to call more than once; from a handler it only asks the loop to end.
    public func stop() {
        let wasRunning = state.withLock { s -> Bool in
            let running = s.started && !s.stopping
            s.stopping = true
            return running
        }
        wake.lock()
        wake.broadcast()
        wake.unlock()
        guard wasRunning else { return }
        // Queue the DISCONNECT now (thread-safe with threaded_set): it wakes the network thread out of
        // its select at once, instead of after the loop's timeout, and the broker drops the session's
        // socket without publishing the will.
        if isConnected { _ = mosquitto_disconnect(handle) }
        if let loop = loopThread.withLock({ $0 }), pthread_equal(loop, pthread_self()) != 0 { return }
        finished.wait()
        finished.signal()  // let a concurrent second stop() return too
    }

    // MARK: network thread

    private func run() {
        var delay = options.reconnectMinSeconds
        var attempted = false
        while !isStopping {
            let rc: Int32
            if attempted {
                rc = mosquitto_reconnect(handle)
            } else {
                rc = mosquitto_connect(handle, options.host, Int32(options.port), options.keepaliveSeconds)
                attempted = true
            }
            if rc != MOSQ_ERR_SUCCESS.rawValue {
                log("mqtt \(endpoint): connect failed: \(MQTTClient.describe(rc)); retrying in \(format(delay)) s")
                pause(delay)
                delay = min(delay * 2, options.reconnectMaxSeconds)
                continue
            }
            var loopRC = MOSQ_ERR_SUCCESS.rawValue
            while !isStopping {
                loopRC = mosquitto_loop(handle, 200, 1)
                if loopRC != MOSQ_ERR_SUCCESS.rawValue { break }
                loopRC = drainBuffered()
                if loopRC != MOSQ_ERR_SUCCESS.rawValue { break }
            }
            let hadSession = state.withLock { s -> Bool in
                defer { s.connectedSinceSocket = false; s.connected = false }
                return s.connectedSinceSocket
            }
            if hadSession { delay = options.reconnectMinSeconds }
            if isStopping { break }
            log("mqtt \(endpoint): connection lost: \(MQTTClient.describe(loopRC)); reconnecting in \(format(delay)) s")
            pause(delay)
            delay = min(delay * 2, options.reconnectMaxSeconds)
        }
        // Ask for a clean DISCONNECT (so the broker does not publish the will) and flush it.
        if mosquitto_disconnect(handle) == MOSQ_ERR_SUCCESS.rawValue {
            for _ in 0..<10 where mosquitto_loop(handle, 50, 1) == MOSQ_ERR_SUCCESS.rawValue {}
        }
        state.withLock { $0.connected = false }
    }

    /// Packets read per burst before the next full `mosquitto_loop` turn (keepalive, queued writes).
    static let burstPackets = 256

    /// Reads packets that are already in the socket's receive buffer without a `select` per packet:
    /// `mosquitto_loop` reads one packet per turn and waits in `select` first, which under a backlog
    /// costs more than the packet. Uses libmosquitto's own read step (`mosquitto_loop_read`) for
    /// every packet and flushes queued writes (PUBACKs) on the way; stops when a read would block
    /// (libmosquitto returns success and leaves EAGAIN in errno, as its own loop checks) or after
    /// `burstPackets`, so keepalive and the stop flag are checked by the next full turn. A stray
    /// errno only ends a burst early or costs one more read. A TLS connection's buffered records are
    /// left to `mosquitto_loop`, which knows about them.
    private func drainBuffered() -> Int32 {
        guard options.tls == nil, cmosquitto_readable_bytes(mosquitto_socket(handle)) > 0 else { return MOSQ_ERR_SUCCESS.rawValue }
        for _ in 0..<Self.burstPackets {
            cmosquitto_clear_errno()
            let rc = mosquitto_loop_read(handle, 1)
            if rc != MOSQ_ERR_SUCCESS.rawValue { return rc }
            if cmosquitto_would_block() != 0 { break }
            if mosquitto_want_write(handle) {
                let wrc = mosquitto_loop_write(handle, 1)
                if wrc != MOSQ_ERR_SUCCESS.rawValue { return wrc }
            }
        }
        return MOSQ_ERR_SUCCESS.rawValue
    }

    private var endpoint: String { "\(options.host):\(options.port) (\(options.clientID))" }

    private func format(_ seconds: Double) -> String { String(format: "%.1f", seconds) }

    /// Sleeps `seconds` or until `stop()`; the flag is checked under the condition's lock so a
    /// wake-up cannot be lost.
    private func pause(_ seconds: Double) {
        let until = Date(timeIntervalSinceNow: seconds)
        wake.lock()
        defer { wake.unlock() }
        while !isStopping {
            if !wake.wait(until: until) { break }
        }
    }

    private func sendSubscribe(_ topic: String, qos: Int32) {
        let rc = mosquitto_subscribe(handle, nil, topic, qos)
        if rc != MOSQ_ERR_SUCCESS.rawValue {
            log("mqtt \(endpoint): subscribe \(topic) failed: \(MQTTClient.describe(rc)); retried on next connect")
        }
    }

    // MARK: callbacks (network thread, inside mosquitto_loop)

    private static func owner(_ obj: UnsafeMutableRawPointer?) -> MQTTClient {
        Unmanaged<MQTTClient>.fromOpaque(obj!).takeUnretainedValue()
    }

    private func installCallbacks() {
        mosquitto_connect_callback_set(handle) { _, obj, rc in MQTTClient.owner(obj).didConnect(rc) }
        mosquitto_disconnect_callback_set(handle) { _, obj, rc in MQTTClient.owner(obj).didDisconnect(rc) }
        mosquitto_publish_callback_set(handle) { _, obj, mid in MQTTClient.owner(obj).handlers.onPublished?(mid) }
        mosquitto_message_callback_set(handle) { _, obj, msg in
            guard let msg else { return }
            MQTTClient.owner(obj).didReceive(msg.pointee)
        }
    }

    private func didConnect(_ rc: Int32) {
        guard rc == 0 else {
            log("mqtt \(endpoint): broker refused the connection: \(String(cString: mosquitto_connack_string(rc)))")
            return
        }
        let subscriptions = state.withLock { s in
            s.connected = true
            s.connectedSinceSocket = true
            s.connectCount += 1
            return s.subscriptions
        }
        log("mqtt \(endpoint): connected")
        for (topic, qos) in subscriptions.sorted(by: { $0.key < $1.key }) { sendSubscribe(topic, qos: qos) }
        handlers.onConnect?()
    }

    private func didDisconnect(_ rc: Int32) {
        let was = state.withLock { s -> Bool in
            defer { s.connected = false }
            return s.connected
        }
        let reason = rc == 0 ? "client disconnected" : MQTTClient.describe(rc)
        if was { handlers.onDisconnect?(reason) }
    }

    private func didReceive(_ msg: mosquitto_message) {
        // libmosquitto frees topic and payload when the callback returns: copy both now.
        let topic = msg.topic.map { String(cString: $0) } ?? ""
        let size = Int(max(0, msg.payloadlen))
        let payload: [UInt8]
        if let p = msg.payload, size > 0 {
            payload = Array(UnsafeRawBufferPointer(start: p, count: min(size, options.maxPayloadBytes)))
        } else {
            payload = []
        }
        received.add(1, ordering: .relaxed)
        handlers.onMessage?(MQTTMessage(topic: topic, payload: payload, qos: msg.qos, retain: msg.retain, size: size))
    }

    // MARK: errors

    static func describe(_ rc: Int32) -> String {
        if rc == MOSQ_ERR_ERRNO.rawValue {
            let e = cmosquitto_errno()
            return "system error: \(String(cString: strerror(e)))"
        }
        return String(cString: mosquitto_strerror(rc))
    }
}

private func check(_ rc: Int32, _ what: String) throws(MQTTError) {
    guard rc == MOSQ_ERR_SUCCESS.rawValue else {
        throw MQTTError(code: rc, message: "\(what): \(MQTTClient.describe(rc))")
    }
}
