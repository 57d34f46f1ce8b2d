"""A small local HTTP server speaking enough of the Anthropic Messages API for the provider tests.

It answers POST /v1/messages with usage (including cache tokens), returns scripted error statuses
(429 with retry-after, 529, 500, 400) first when asked to, and records every request body.
Answers are picked by the output schema named in the system prompt (`answers`: property -> JSON).
"""

from __future__ import annotations

import json
import threading
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_ERRORS = {429: "rate_limit_error", 529: "overloaded_error", 500: "api_error", 400: "invalid_request_error"}


class FakeAnthropic:
    def __init__(self, answers: dict[str, dict[str, Any]]) -> None:
        self.answers = answers
        self.failures: deque[int] = deque()
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return None

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                with fake._lock:
                    fake.requests.append(body)
                    fake.headers.append({k.lower(): v for k, v in self.headers.items()})
                    status = fake.failures.popleft() if fake.failures else 200
                if status != 200:
                    payload = {
                        "type": "error",
                        "error": {"type": _ERRORS.get(status, "api_error"), "message": f"fake {status}"},
                    }
                    self._send(status, payload, {"retry-after": "0"} if status == 429 else {})
                    return
                system = "".join(b["text"] for b in body["system"])
                answer = next((a for key, a in fake.answers.items() if f'"{key}"' in system), {})
                self._send(
                    200,
                    {
                        "id": f"msg_fake_{len(fake.requests)}",
                        "type": "message",
                        "role": "assistant",
                        "model": body["model"] + "-20251001",
                        "stop_reason": "end_turn",
                        "stop_sequence": None,
                        "content": [{"type": "text", "text": json.dumps(answer)}],
                        "usage": {
                            "input_tokens": 120,
                            "output_tokens": 40,
                            "cache_read_input_tokens": 300,
                            "cache_creation_input_tokens": 50,
                        },
                    },
                    {},
                )

            def _send(self, status: int, payload: dict[str, Any], headers: dict[str, str]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeAnthropic:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
