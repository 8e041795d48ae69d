/// Governance migration 2: what the fire office's receiver keeps per edge box (delivery progress,
/// supervision), the telemetry minute summaries it receives, and the history of risk grades.
/// Documented in docs/schema.md; appended to `GovernanceSchema.migrations`.
extension GovernanceSchema {
    static let officeMigration = Migration(version: 2, name: "edge links, telemetry minutes, risk grades", sql: """
        CREATE TABLE edge_links (
          edge_id          TEXT PRIMARY KEY,
          stored_through   INTEGER NOT NULL DEFAULT 0,
          highest_seen     INTEGER NOT NULL DEFAULT 0,
          stored_count     INTEGER NOT NULL DEFAULT 0,
          duplicate_count  INTEGER NOT NULL DEFAULT 0,
          late_count       INTEGER NOT NULL DEFAULT 0,
          first_seen       REAL NOT NULL,
          last_seen        REAL NOT NULL,
          last_heartbeat   REAL,
          heartbeat        TEXT,
          status           TEXT NOT NULL DEFAULT 'online' CHECK (status IN ('online','offline')),
          offline_since    REAL
        );
        CREATE TABLE telemetry_minutes (
          edge_id     TEXT NOT NULL,
          device_id   TEXT NOT NULL,
          channel     TEXT NOT NULL,
          minute      REAL NOT NULL,
          min         REAL NOT NULL,
          max         REAL NOT NULL,
          last        REAL NOT NULL,
          samples     INTEGER NOT NULL,
          late        INTEGER NOT NULL DEFAULT 0,
          received_at REAL NOT NULL,
          PRIMARY KEY (edge_id, device_id, channel, minute)
        );
        CREATE TABLE risk_grades (
          id              INTEGER PRIMARY KEY,
          premises_id     TEXT NOT NULL REFERENCES premises(platform_id),
          computed_at     REAL NOT NULL,
          window_start    REAL NOT NULL,
          grade           TEXT NOT NULL CHECK (grade IN ('A','B','C','D')),
          score           REAL NOT NULL,
          alarms          INTEGER NOT NULL,
          faults          INTEGER NOT NULL,
          open_hazards    INTEGER NOT NULL,
          overdue_hazards INTEGER NOT NULL,
          repeat_offences INTEGER NOT NULL
        );
        CREATE INDEX risk_grades_premises ON risk_grades(premises_id, computed_at);
        """)
}
