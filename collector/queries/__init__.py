"""The named queries behind `collector.query` (import from there)."""
