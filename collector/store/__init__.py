"""The span store: the `SpanStore` seam every reader and writer goes through (`base`), which store a
URL names (`url`, `factory`), the span table (`schema`), the named queries' catalogue (`catalogue`,
`query_params`), and each store's implementation with its dialect (`duckdb/`)."""
