"""The audit trail: the hash-chained, append-only history of every TPS (sql/009_audit.sql)."""
