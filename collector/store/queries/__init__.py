"""The named queries behind `agentdeck.collector.store.query` (import from there)."""
