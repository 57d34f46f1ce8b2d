"""Ingest: OTLP bodies in, normalized span rows committed. decode -> normalize (conventions, usage,
attrs) -> redact -> the writer queue; lineage settles what a span inherits from its trace; workers
run decoding on more cores; receiver and grpc_receiver are the HTTP and gRPC front doors."""
