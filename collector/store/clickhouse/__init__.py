"""The span store on ClickHouse: a server over HTTP (clickhouse-connect) or the engine in-process
(chdb). Both are optional (`pip install 'agentdeck[clickhouse]'`) and imported only when a
`clickhouse://`, `clickhouses://` or `chdb://` store is opened."""
