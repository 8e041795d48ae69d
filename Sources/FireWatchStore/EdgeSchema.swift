/// The edge box's own database (`edge.db` in its data directory): the event journal that gives every
/// event its (edge id, sequence) before anything leaves the box, and the rule engine's saved state.
public enum EdgeSchema {
    public static let name = "edge"

    public static let migrations: [Migration] = [
        Migration(version: 1, name: "event journal, engine state", sql: """
        CREATE TABLE edge_events (
          sequence    INTEGER PRIMARY KEY,
          event       TEXT NOT NULL,
          signal      TEXT NOT NULL,
          created_at  REAL NOT NULL,
          delivered   INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX edge_events_pending ON edge_events(delivered, sequence);
        CREATE TABLE engine_state (
          id       INTEGER PRIMARY KEY CHECK (id = 1),
          snapshot TEXT NOT NULL,
          saved_at REAL NOT NULL
        );
        CREATE TABLE edge_meta (
          key   TEXT PRIMARY KEY,
          value TEXT NOT NULL
        );
        """),
        Outbox.telemetryLaneMigration,
        Migration(version: 3, name: "control requests", sql: """
        -- Requests a person makes of the running edge (reset a latched alarm), applied by its pipeline.
        CREATE TABLE control_requests (
          id           INTEGER PRIMARY KEY,
          action       TEXT NOT NULL CHECK (action IN ('reset')),
          device       TEXT NOT NULL,
          rule         TEXT,
          requested_by TEXT NOT NULL,
          requested_at REAL NOT NULL,
          done_at      REAL,
          result       TEXT
        );
        CREATE INDEX control_requests_pending ON control_requests(done_at, id);
        """),
    ]
}

/// The readings archive (`readings.db`): batched, NORMAL durability, kept apart from alarms.
public enum ReadingsSchema {
    public static let name = "readings"

    public static let migrations: [Migration] = [
        Migration(version: 1, name: "readings", sql: """
        CREATE TABLE readings (
          device  TEXT NOT NULL,
          channel TEXT NOT NULL,
          time    REAL NOT NULL,
          value   REAL,
          state   TEXT
        );
        CREATE INDEX readings_device_time ON readings(device, time);
        """),
        Migration(version: 2, name: "one row per sample", sql: """
        -- One row per (device, time) with all its channels packed, instead of one row per channel:
        -- 15x fewer rows for a 1 residual + 4 temperature detector. `readings` stays for old data.
        CREATE TABLE samples (
          device   TEXT NOT NULL,
          time     REAL NOT NULL,
          channels TEXT NOT NULL
        );
        CREATE INDEX samples_device_time ON samples(device, time);
        """),
        Migration(version: 3, name: "one row per device per flush", sql: """
        -- One row per device per archive flush (SampleBlockBuilder): the channel names once, then a line
        -- `time;value;value;...` per sample. In a burst the row, its index entry and the names are paid
        -- once per block instead of once per sample. `samples` and `readings` stay for old data.
        CREATE TABLE sample_blocks (
          device  TEXT NOT NULL,
          first   REAL NOT NULL,
          last    REAL NOT NULL,
          count   INTEGER NOT NULL,
          columns TEXT NOT NULL,
          samples TEXT NOT NULL
        );
        CREATE INDEX sample_blocks_device_last ON sample_blocks(device, last);
        """),
    ]
}
