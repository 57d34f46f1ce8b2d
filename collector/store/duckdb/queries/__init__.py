"""The named queries behind `agentdeck.collector.store.duckdb.query` (import from there)."""
