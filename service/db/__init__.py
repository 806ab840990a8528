"""PostgreSQL adapter: connections and schema migrations."""
