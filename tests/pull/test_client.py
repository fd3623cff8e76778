"""What the client quotes from an LRS's error page never carries the credentials it sent."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote

import pytest

from xapi_ingest.pull.client import LRSClient, LRSError
from xapi_ingest.pull.sources import Credentials, Source

PASSWORD = "s3cr3t p@ss/word"
CREDENTIALS = Credentials("lrs-user", PASSWORD)


class _EchoingLRS(BaseHTTPRequestHandler):
    """A misconfigured LRS or proxy that echoes the request (headers and the decoded password) in its body."""

    status = 400

    def do_GET(self) -> None:
        body = (f"<pre>Bad request\nAuthorization: {self.headers['Authorization']}\nX-Api-Key: abc\n"
                f"decoded: lrs-user:{PASSWORD}\nquoted: {quote(PASSWORD, safe='')}\n{self.headers}</pre>").encode()
        self.send_response(self.status)
        if self.status == 302:
            self.send_header("Location", "http://127.0.0.1:1/login")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        pass


@pytest.mark.parametrize("status", [400, 302])
def test_error_bodies_are_quoted_without_credentials(status):
    handler = type("Handler", (_EchoingLRS,), {"status": status})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        source = Source(id="echo", endpoint=f"http://127.0.0.1:{server.server_port}/xAPI/")
        with LRSClient(source, CREDENTIALS) as client, pytest.raises(LRSError) as error:
            client.query(None)
    finally:
        server.shutdown()
        server.server_close()
    message = str(error.value)
    assert f"HTTP {status}" in message and "Bad request" in message  # the page is still quoted
    assert "Authorization: [redacted]" in message
    for secret in (PASSWORD, quote(PASSWORD, safe=""), "bHJzLXVzZXI6", "Basic ", "abc"):
        assert secret not in message, secret
