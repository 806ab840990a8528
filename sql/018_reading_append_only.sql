-- The raw reading of a photo is stored once and never changed (004_photos.sql): said in the
-- schema too, as for the audit trail (009_audit.sql's append_only(), which names the table).
-- A job that runs twice inserts nothing (ON CONFLICT DO NOTHING) and so meets no trigger.

CREATE TRIGGER photo_reading_append_only BEFORE UPDATE OR DELETE ON photo_reading
    FOR EACH ROW EXECUTE FUNCTION append_only();
CREATE TRIGGER photo_reading_no_truncate BEFORE TRUNCATE ON photo_reading
    FOR EACH STATEMENT EXECUTE FUNCTION append_only();
