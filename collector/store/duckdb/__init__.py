"""The DuckDB span store: the default, one process and one file with nothing else to install.

Every DuckDB statement of the collector lives in this package: the file and its writes (`store`),
schema versions (`migrations`), the acknowledgement record (`ack_record`), the named queries
(`query`, `queries/`), the alert metrics (`observe`), alert state (`alert_state`), the per-thread
session the seam hands out (`session`), retention and copying (`maintenance`).
"""
