/// The governance database schema: the contract other departments' systems read (docs/schema.md).
///
/// Append a migration to change it; never edit or remove one that has shipped.
public enum GovernanceSchema {
    public static let name = "governance"

    public static let migrations: [Migration] = [
        Migration(version: 1, name: "registry, events, hazards", sql: """
        CREATE TABLE markets (
          id          TEXT PRIMARY KEY,
          name        TEXT NOT NULL,
          address     TEXT NOT NULL DEFAULT '',
          community   TEXT NOT NULL DEFAULT '',
          updated_at  REAL NOT NULL
        );
        CREATE TABLE premises (
          platform_id TEXT PRIMARY KEY,
          qr_code     TEXT NOT NULL UNIQUE,
          name        TEXT NOT NULL,
          kind        TEXT NOT NULL CHECK (kind IN ('business_unit','rental_building','market_stall','other')),
          address     TEXT NOT NULL DEFAULT '',
          community   TEXT NOT NULL DEFAULT '',
          grid        TEXT NOT NULL DEFAULT '',
          market_id   TEXT REFERENCES markets(id),
          owner_name  TEXT NOT NULL DEFAULT '',
          owner_phone TEXT NOT NULL DEFAULT '',
          risk_grade  TEXT CHECK (risk_grade IN ('A','B','C','D')),
          status      TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active','closed')),
          updated_at  REAL NOT NULL
        );
        CREATE INDEX premises_market ON premises(market_id);
        CREATE INDEX premises_community ON premises(community);
        CREATE TABLE devices (
          id                TEXT PRIMARY KEY,
          serial            TEXT NOT NULL,
          profile           TEXT NOT NULL,
          premises_id       TEXT NOT NULL REFERENCES premises(platform_id),
          market_id         TEXT REFERENCES markets(id),
          location          TEXT NOT NULL DEFAULT '',
          transport         TEXT NOT NULL,
          cable             TEXT CHECK (cable IN ('pvc','xlpe')),
          status            TEXT NOT NULL CHECK (status IN ('registered','commissioned','out_of_service','decommissioned')),
          commissioned_at   REAL,
          commissioned_by   TEXT,
          commission_report TEXT,
          registered_at     REAL NOT NULL,
          updated_at        REAL NOT NULL
        );
        CREATE INDEX devices_premises ON devices(premises_id);
        CREATE UNIQUE INDEX devices_transport_in_use ON devices(transport) WHERE status <> 'decommissioned';
        CREATE TABLE device_setpoints (
          device_id TEXT NOT NULL REFERENCES devices(id),
          channel   TEXT NOT NULL,
          value     REAL NOT NULL,
          PRIMARY KEY (device_id, channel)
        );
        CREATE TABLE device_history (
          id        INTEGER PRIMARY KEY,
          device_id TEXT NOT NULL REFERENCES devices(id),
          time      REAL NOT NULL,
          action    TEXT NOT NULL,
          actor     TEXT NOT NULL,
          detail    TEXT NOT NULL DEFAULT ''
        );
        CREATE INDEX device_history_device ON device_history(device_id, time);
        CREATE TABLE hazards (
          id               INTEGER PRIMARY KEY,
          premises_id      TEXT REFERENCES premises(platform_id),
          device_id        TEXT NOT NULL,
          edge_id          TEXT,
          category         TEXT NOT NULL,
          kind             TEXT NOT NULL,
          signal           TEXT NOT NULL CHECK (signal IN ('alarm','prealarm','fault')),
          severity         TEXT NOT NULL CHECK (severity IN ('low','medium','high','critical')),
          title            TEXT NOT NULL,
          status           TEXT NOT NULL CHECK (status IN ('open','acknowledged','dispatched','rectified','verified','false_alarm')),
          opened_at        REAL NOT NULL,
          updated_at       REAL NOT NULL,
          closed_at        REAL,
          condition_active INTEGER NOT NULL DEFAULT 1,
          event_count      INTEGER NOT NULL DEFAULT 0,
          deadline         REAL
        );
        CREATE UNIQUE INDEX hazards_one_open ON hazards(IFNULL(premises_id, ''), device_id, kind)
          WHERE status NOT IN ('verified','false_alarm');
        CREATE INDEX hazards_premises ON hazards(premises_id, opened_at);
        CREATE INDEX hazards_status ON hazards(status);
        CREATE TABLE hazard_steps (
          id        INTEGER PRIMARY KEY,
          hazard_id INTEGER NOT NULL REFERENCES hazards(id),
          time      REAL NOT NULL,
          action    TEXT NOT NULL,
          actor     TEXT NOT NULL,
          note      TEXT NOT NULL DEFAULT ''
        );
        CREATE INDEX hazard_steps_hazard ON hazard_steps(hazard_id, time);
        CREATE TABLE alarm_events (
          id          INTEGER PRIMARY KEY,
          edge_id     TEXT NOT NULL,
          sequence    INTEGER NOT NULL,
          device_id   TEXT NOT NULL,
          channel     TEXT NOT NULL,
          rule        TEXT NOT NULL,
          signal      TEXT NOT NULL CHECK (signal IN ('alarm','prealarm','fault')),
          transition  TEXT NOT NULL CHECK (transition IN ('raise','clear')),
          value       REAL,
          event_time  REAL NOT NULL,
          received_at REAL NOT NULL,
          category    TEXT NOT NULL,
          kind        TEXT NOT NULL,
          severity    TEXT NOT NULL,
          title       TEXT NOT NULL,
          announced   INTEGER NOT NULL,
          chattering  INTEGER NOT NULL,
          is_test     INTEGER NOT NULL,
          late        INTEGER NOT NULL DEFAULT 0,
          hazard_id   INTEGER REFERENCES hazards(id),
          UNIQUE (edge_id, sequence)
        );
        CREATE INDEX alarm_events_hazard ON alarm_events(hazard_id);
        CREATE INDEX alarm_events_device ON alarm_events(device_id, event_time);
        """),
        officeMigration,
        registryMigration,
        registryBulkMigration,
        Migration(version: 5, name: "device addresses unique per market", sql: """
        -- Transport addresses are local to a market's edge (bus names, gateway addresses): unique per market,
        -- not town-wide. Only the index changes; no row is touched.
        DROP INDEX devices_transport_in_use;
        CREATE UNIQUE INDEX devices_transport_in_market ON devices(IFNULL(market_id, ''), transport)
          WHERE status <> 'decommissioned';
        """),
    ]
}
