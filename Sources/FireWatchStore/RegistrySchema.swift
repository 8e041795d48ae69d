/// Governance migration 3: fast premises search and the registry change log that edge ↔ office
/// sync reads (docs/registry.md, docs/schema.md).
extension GovernanceSchema {
    public static let registryMigration = Migration(version: 3, name: "premises search, registry change log", sql: """
    -- Substring search over names and addresses (Chinese has no word breaks: trigrams).
    CREATE VIRTUAL TABLE premises_fts USING fts5(name, address, content='premises', content_rowid='rowid',
      tokenize='trigram');
    INSERT INTO premises_fts(rowid, name, address) SELECT rowid, name, address FROM premises;
    -- Holds one row only inside an import batch's transaction: that batch indexes and logs its new
    -- rows in one statement each (per-row triggers cost more than the rest of the import together).
    CREATE TABLE registry_bulk (marker INTEGER NOT NULL);
    CREATE TRIGGER premises_fts_ai AFTER INSERT ON premises WHEN NOT EXISTS (SELECT 1 FROM registry_bulk) BEGIN
      INSERT INTO premises_fts(rowid, name, address) VALUES (new.rowid, new.name, new.address);
    END;
    CREATE TRIGGER premises_fts_ad AFTER DELETE ON premises BEGIN
      INSERT INTO premises_fts(premises_fts, rowid, name, address) VALUES ('delete', old.rowid, old.name, old.address);
    END;
    CREATE TRIGGER premises_fts_au AFTER UPDATE OF name, address ON premises BEGIN
      INSERT INTO premises_fts(premises_fts, rowid, name, address) VALUES ('delete', old.rowid, old.name, old.address);
      INSERT INTO premises_fts(rowid, name, address) VALUES (new.rowid, new.name, new.address);
    END;

    -- Where the last change of a device record was made: NULL or 'office' for the office, else an edge id.
    ALTER TABLE devices ADD COLUMN origin TEXT;
    CREATE TABLE registry_sync_meta (
      key   TEXT PRIMARY KEY,
      value TEXT NOT NULL
    );
    -- Holds one row only inside a transaction that applies records received by sync, so the origin
    -- stamp below keeps the sender's origin.
    CREATE TABLE registry_sync_applying (marker INTEGER NOT NULL);
    CREATE TABLE registry_changes (
      seq        INTEGER PRIMARY KEY,  -- rows are never deleted, so rowids only grow
      entity     TEXT NOT NULL CHECK (entity IN ('premises','device')),
      record_id  TEXT NOT NULL,
      market_id  TEXT,
      changed_at REAL NOT NULL
    );
    CREATE INDEX registry_changes_market ON registry_changes(market_id, seq);
    CREATE TRIGGER registry_premises_ai AFTER INSERT ON premises WHEN NOT EXISTS (SELECT 1 FROM registry_bulk) BEGIN
      INSERT INTO registry_changes(entity, record_id, market_id, changed_at)
      VALUES ('premises', new.platform_id, new.market_id, new.updated_at);
    END;
    CREATE TRIGGER registry_premises_au AFTER UPDATE ON premises WHEN new.updated_at IS NOT old.updated_at BEGIN
      INSERT INTO registry_changes(entity, record_id, market_id, changed_at)
      VALUES ('premises', new.platform_id, new.market_id, new.updated_at);
    END;
    CREATE TRIGGER registry_devices_ai AFTER INSERT ON devices BEGIN
      INSERT INTO registry_changes(entity, record_id, market_id, changed_at)
      VALUES ('device', new.id, new.market_id, new.updated_at);
    END;
    CREATE TRIGGER registry_devices_au AFTER UPDATE ON devices WHEN new.updated_at IS NOT old.updated_at BEGIN
      INSERT INTO registry_changes(entity, record_id, market_id, changed_at)
      VALUES ('device', new.id, new.market_id, new.updated_at);
    END;
    CREATE TRIGGER registry_devices_origin_ai AFTER INSERT ON devices
      WHEN NOT EXISTS (SELECT 1 FROM registry_sync_applying) BEGIN
      UPDATE devices SET origin = (SELECT value FROM registry_sync_meta WHERE key = 'origin') WHERE id = new.id;
    END;
    CREATE TRIGGER registry_devices_origin_au AFTER UPDATE ON devices
      WHEN new.updated_at IS NOT old.updated_at AND NOT EXISTS (SELECT 1 FROM registry_sync_applying) BEGIN
      UPDATE devices SET origin = (SELECT value FROM registry_sync_meta WHERE key = 'origin') WHERE id = new.id;
    END;
    CREATE INDEX devices_market ON devices(market_id);
    -- Records that existed before this migration enter the log once, so a new edge cache gets them.
    INSERT INTO registry_changes(entity, record_id, market_id, changed_at)
      SELECT 'premises', platform_id, market_id, updated_at FROM premises ORDER BY rowid;
    INSERT INTO registry_changes(entity, record_id, market_id, changed_at)
      SELECT 'device', id, market_id, updated_at FROM devices ORDER BY rowid;
    """)
}
