"""The HTTP API: the Starlette app (`app`), its bearer-token check (`auth`), the named queries
(`query_api`) and the alerts (`alerts_api`)."""
