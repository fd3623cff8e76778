"""A small Statements API server that misbehaves on purpose, for faults no real LRS gives on demand.

It implements what the puller uses (``since`` on ``stored``, ``ascending``, ``limit``, ``until``,
``agent``, opaque ``more`` links, the Consistent-Through header) and, per :class:`Faults`,
answers some requests with 429/503, resets connections mid-body, truncates JSON, sends an HTML
error page with status 200, expires ``more`` links, repeats a statement on two pages, or
ignores ``since``. Randomness is seeded, so a failing test fails the same way every time.
"""

from __future__ import annotations

import json
import random
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from xapi_ingest.xapi.timestamps import parse_timestamp, xapi_timestamp


@dataclass
class Faults:
    seed: int = 7
    throttle: float = 0.0  # probability of 429/503 with Retry-After
    reset: float = 0.0  # probability of a connection reset mid-body
    truncate: float = 0.0  # probability of a 200 with truncated JSON
    html: float = 0.0  # probability of a 200 with an HTML error page
    expire_more_at: frozenset[int] = frozenset()  # request numbers whose `more` link answers 404
    repeat_across_pages: bool = False  # the last statement of a page opens the next one too
    ignore_since: bool = False
    consistent_through: bool = True
    outage_after: int | None = None  # every request after this many answers 503 (beyond any budget)


@dataclass
class FaultyLRS:
    faults: Faults = field(default_factory=Faults)
    on_request: Callable[[], None] | None = None  # e.g. an invariant check between requests
    statements: list[dict] = field(default_factory=list)
    requests: int = 0
    _clock: datetime = field(default_factory=lambda: datetime(2026, 10, 1, tzinfo=UTC))
    _cursors: dict[str, tuple[str | None, int]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, statements: list[dict]) -> list[dict]:
        """Store copies with an LRS-assigned, strictly increasing ``stored``; returns them."""
        added = []
        with self._lock:
            for statement in statements:
                self._clock += timedelta(minutes=1)  # so a 5-minute overlap covers only a few
                added.append({**statement, "stored": xapi_timestamp(self._clock)})
            self.statements.extend(added)
        return added

    # -- serving -----------------------------------------------------------------------------

    def start(self) -> FaultyLRS:
        self._random = random.Random(self.faults.seed)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}/xAPI/"

    def _select(self, query: dict[str, str]) -> list[dict]:
        since = parse_timestamp(query["since"]) if "since" in query and not self.faults.ignore_since else None
        until = parse_timestamp(query["until"]) if "until" in query else None
        agent = json.loads(query["agent"]) if "agent" in query else None
        chosen = []
        for statement in sorted(self.statements, key=lambda s: s["stored"]):
            stored = parse_timestamp(statement["stored"])
            if (since and stored <= since) or (until and stored > until):
                continue
            if agent is not None and statement["actor"] != agent:
                continue
            chosen.append(statement)
        return chosen

    def _page(self, path: str) -> tuple[int, dict[str, str], bytes]:
        url = urlsplit(path)
        query = {key: values[-1] for key, values in parse_qs(url.query).items()}
        faults, number = self.faults, self.requests
        if faults.outage_after is not None and number > faults.outage_after:
            return 503, {"Retry-After": "0"}, b"down for maintenance"
        if self._random.random() < faults.throttle:
            return self._random.choice((429, 503)), {"Retry-After": "0"}, b"slow down"
        if "cursor" in query:
            if number in faults.expire_more_at or query["cursor"] not in self._cursors:
                return 404, {}, b'{"error": "unknown cursor"}'
            query_text, offset = self._cursors[query["cursor"]]
            query = {key: values[-1] for key, values in parse_qs(query_text or "").items()}
        else:
            query_text, offset = url.query, 0
        limit = int(query.get("limit", "100"))
        selected = self._select(query)
        page = selected[offset:offset + limit]
        next_offset = offset + len(page)
        if faults.repeat_across_pages and page and next_offset < len(selected):
            next_offset -= 1  # the next page starts with this page's last statement
        more = ""
        if offset + len(page) < len(selected):
            token = secrets.token_hex(8)
            self._cursors[token] = (query_text, next_offset)
            more = f"/xAPI/statements?cursor={token}"
        body = json.dumps({"statements": page, "more": more}).encode()
        headers = {"Content-Type": "application/json", "X-Experience-API-Version": "1.0.3"}
        if faults.consistent_through:
            headers["X-Experience-API-Consistent-Through"] = xapi_timestamp(self._clock)
        return 200, headers, body

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        lrs = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: object) -> None:
                pass

            def do_GET(self) -> None:
                if lrs.on_request:
                    lrs.on_request()
                with lrs._lock:
                    lrs.requests += 1
                    status, headers, body = lrs._page(self.path)
                    roll = lrs._random.random()
                faults = lrs.faults
                if status == 200 and roll < faults.reset:
                    self._send(200, headers, body, cut=len(body) // 2)
                elif status == 200 and roll < faults.reset + faults.truncate:
                    self._send(200, headers, body[: len(body) // 2])
                elif status == 200 and roll < faults.reset + faults.truncate + faults.html:
                    self._send(200, {"Content-Type": "text/html"}, b"<html><body>502 Bad Gateway</body></html>")
                else:
                    self._send(status, headers, body)

            def _send(self, status: int, headers: dict[str, str], body: bytes, cut: int | None = None) -> None:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body if cut is None else body[:cut])
                if cut is not None:  # a reset mid-body: the client sees fewer bytes than announced
                    self.wfile.flush()
                    self.close_connection = True

        return Handler


def main() -> None:
    """Serve N realistic statements without faults in a process of its own (for the pull benchmark)."""
    import argparse
    import sys

    from xapi_ingest.xapi.samples import realistic_statements

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--count", type=int, required=True)
    lrs = FaultyLRS()
    lrs.add(list(realistic_statements(parser.parse_args().count)))
    lrs.start()
    print(lrs.endpoint, flush=True)
    try:
        while sys.stdin.read(1):  # serve until the parent closes our stdin
            pass
    finally:
        lrs.stop()


if __name__ == "__main__":
    main()
