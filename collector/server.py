"""Run the collector: `CollectorServer` (background thread, for tests and the dashboard) and
`serve()` (blocking, for the CLI; SIGINT/SIGTERM drain the queue and close the store)."""

from __future__ import annotations

import contextlib
import signal
import socket
import sys
import threading
import time
from pathlib import Path
from types import FrameType, TracebackType

import httpx
import uvicorn

from agentdeck.collector.alerts import AlertService, RulesError, RuleSet, load_rules
from agentdeck.collector.api.app import Services, create_app
from agentdeck.collector.config import CollectorConfig, ConfigError
from agentdeck.collector.ingest.receiver import Receiver
from agentdeck.collector.ingest.redact import Redactor
from agentdeck.collector.ingest.writer import Writer
from agentdeck.collector.self_metrics import Metrics
from agentdeck.collector.store.factory import open_store
from agentdeck.engine.pricing import load_prices

_START_TIMEOUT_S = 20.0


class StartError(RuntimeError):
    """The collector could not start serving (busy port, no /health); the message says why."""


class CollectorServer:
    def __init__(self, config: CollectorConfig) -> None:
        self.config = config.validate()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._services: Services | None = None
        self._grpc: object | None = None
        self._port: int | None = None
        self.grpc_port: int | None = None

    @property
    def url(self) -> str:
        if self._port is None:
            raise RuntimeError("the collector is not started: call start() first")
        host = self.config.host
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{self._port}"

    @property
    def services(self) -> Services:
        if self._services is None:
            raise RuntimeError("the collector is not started: call start() first")
        return self._services

    def start(self) -> CollectorServer:
        """Open the store, start the writer, the alert service and the HTTP server; return once
        /health answers. A rules file with mistakes raises ConfigError before anything opens."""
        config = self.config
        rules = alert_rules(config)
        prices = load_prices(config.prices_path)
        redactor = Redactor.from_config(
            Path(config.redact_rules_path) if config.redact_rules_path else None, include_pii=config.redact_pii
        )
        store = open_store(
            config.store_url(), memory_limit_mb=config.memory_limit_mb, checkpoint_mb=config.checkpoint_mb
        )
        metrics = Metrics()
        try:
            alerts = AlertService(  # sessions follow the store when it reopens its file or reconnects
                store.session, rules, interval_s=config.alert_interval_s, dashboard_url=config.dashboard_url
            )
        except BaseException:
            store.close()
            raise
        writer = Writer(
            store,
            metrics,
            queue_max_spans=config.queue_max_spans,
            batch_max_spans=config.batch_max_spans,
            flush_interval_ms=config.flush_interval_ms,
            on_commit=alerts.notify_spans_arrived,
            retention_ns=config.retention_ns(),
        )
        writer.start()
        alerts.start()
        receiver = Receiver(writer, prices, metrics, config.max_body_bytes, redactor, workers=config.ingest_workers)
        self._services = Services(
            config=config, store=store, writer=writer, receiver=receiver, metrics=metrics, alerts=alerts
        )
        uv_config = uvicorn.Config(
            create_app(self._services),
            host=config.host,
            port=config.port,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=5,
            proxy_headers=False,  # X-Forwarded-For counts only from trusted_proxies (see api.front_door)
        )
        try:
            sock = _bind(config.host, config.port)
        except BaseException:
            self.stop()
            raise
        self._server = uvicorn.Server(uv_config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="agentdeck-collector-http", daemon=True
        )
        self._thread.start()
        try:
            self._wait_started()
            if config.grpc_port is not None:
                from agentdeck.collector.ingest.grpc_receiver import start_grpc

                self._grpc, self.grpc_port = start_grpc(receiver, config)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_started(self) -> None:
        assert self._server is not None and self._thread is not None
        deadline = time.monotonic() + _START_TIMEOUT_S
        while not self._server.started:
            if not self._thread.is_alive():
                raise StartError(f"the collector could not listen on {self.config.host}:{self.config.port}")
            if time.monotonic() > deadline:
                raise StartError("the collector did not start within 20 s")
            time.sleep(0.01)
        self._port = self._server.servers[0].sockets[0].getsockname()[1]
        with httpx.Client(timeout=2.0) as client:
            while True:
                with contextlib.suppress(httpx.HTTPError):
                    if client.get(self.url + "/health").status_code == 200:
                        return
                if time.monotonic() > deadline:
                    raise StartError("the collector started but /health does not answer")
                time.sleep(0.01)

    def stop(self) -> None:
        """Stop serving, commit every queued span, and close the store."""
        if self._grpc is not None:
            self._grpc.stop(grace=2).wait()  # type: ignore[attr-defined]
            self._grpc = None
        if self._services is not None:  # interrupt running reads first: the store must not close under them
            self._services.gate.drain()
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(15)
            self._thread = None
        if self._services is not None:
            self._services.receiver.close()  # no request is in flight once the HTTP server has stopped
            self._services.writer.stop()
            if self._services.alerts is not None:  # its evaluations read the store: stop it first
                self._services.alerts.stop()
            self._services.store.close()
            self._services = None
        self._server = None

    def __enter__(self) -> CollectorServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def alert_rules(config: CollectorConfig) -> RuleSet:
    """The configured alert rules (default: the shipped set), validated; ConfigError says what to fix."""
    try:
        return load_rules(config.alert_rules_path)
    except RulesError as exc:
        raise ConfigError(f"alert_rules_path: {exc}") from None


def _bind(host: str, port: int) -> socket.socket:
    """The listening socket, bound here so a busy port is a clear error in the caller's thread."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        raise StartError(f"the collector could not listen on {host}:{port}: {exc}") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise StartError(f"the collector could not listen on {host}:{port}: {exc.strerror or exc}") from None
    return sock


def serve(config: CollectorConfig) -> None:
    """Run until SIGINT/SIGTERM, then drain the queue and close the store."""
    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, _on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    server = CollectorServer(config)
    started = False
    try:
        server.start()
        started = True
        grpc_note = f", OTLP/gRPC on port {server.grpc_port}" if server.grpc_port is not None else ""
        print(
            f"agentdeck collector listening on {server.url}{grpc_note} (store: {server.services.store.url})", flush=True
        )
        while not stop.wait(0.5):
            pass
    finally:
        server.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if started:  # a refusal to start is the caller's one line: no "stopped" before it
            print("agentdeck collector stopped", file=sys.stderr, flush=True)
