-- The service runs with the least privilege it needs. Migrations run as the owner of the tables;
-- the API, the workers and the auditor connect as a member of rekap_app, which may read and
-- write rows but owns nothing: it cannot ALTER a table (so cannot disable the audit trail's
-- triggers), TRUNCATE, or SET session_replication_role (a superuser's setting). On the append-only
-- tables it may only SELECT and INSERT, so their guards do not even come into play for it.
--
-- Roles belong to the whole PostgreSQL cluster, not to one database: rekap_app is created once
-- (by whoever can: the owner needs CREATEROLE, or the role is made beforehand, as CloudNativePG's
-- managed roles do in deploy/k8s/postgres.yaml) and each database grants it its own privileges.
-- `rekap db migrate` makes the login role of REKAP_DATABASE_URL a member of it.

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'rekap_app') THEN
        CREATE ROLE rekap_app NOLOGIN;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;  -- another database of the same cluster created it meanwhile
END $$;

-- Nobody but the owner creates objects (PostgreSQL 15's default; older clusters granted it to all).
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO rekap_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO rekap_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO rekap_app;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO rekap_app;

-- Written once, never changed: the audit trail, the raw readings, the recap forms as recorded,
-- their discrepancies, the public versions, the decodings and the retake requests.
REVOKE UPDATE, DELETE ON tps_result_event, photo_reading, d_hasil, recap_discrepancy, public_change,
    tps_decoding, retake_request FROM rekap_app;
-- Only migrations record migrations; the service reads them (/health).
REVOKE INSERT, UPDATE, DELETE ON schema_migration FROM rekap_app;

-- Tables, sequences and functions that later migrations create get the same rights; a later
-- migration that adds an append-only table revokes UPDATE and DELETE on it, as above.
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO rekap_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO rekap_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT EXECUTE ON FUNCTIONS TO rekap_app;
