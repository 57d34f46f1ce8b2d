"""The span store: the DuckDB file (`duckdb_store`), its table (`schema`), and the named queries that
read it (`query`, `queries/`)."""
