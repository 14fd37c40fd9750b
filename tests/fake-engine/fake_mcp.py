#!/usr/bin/env python3
"""A tiny streamable-HTTP MCP server for mcpctl's integration tests (stdlib only).

POST /mcp answers `initialize` (JSON with protocolVersion and serverInfo, plus an
`mcp-session-id` header), `notifications/*` (202), `tools/list` (two tools) and `tools/call`
(echo); DELETE /mcp answers 200. Anything else is 404. It exits after --timeout seconds so a
test that forgets to stop it leaks nothing, and on SIGTERM (the fake engine's stop/rm).
"""

import argparse
import json
import os
import signal
import sys
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

NAME = "fake-mcp"
VERSION = "9.9.9"
TOOLS = [
    {"name": "echo", "description": "Echo the text back", "inputSchema": {"type": "object"}},
    {"name": "add", "description": "Add two numbers", "inputSchema": {"type": "object"}},
]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    path_ = "/mcp"

    def log_message(self, fmt, *args):
        sys.stderr.write("fake_mcp: " + (fmt % args) + "\n")

    def _send(self, code, body=None, headers=None):
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(code)
        if body is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)
        self.close_connection = True

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        if self.path.split("?")[0] != Handler.path_:
            return self._send(404, {"error": "not found"})
        try:
            msg = json.loads(raw)
        except ValueError:
            return self._send(400, {"error": "bad json"})
        method = msg.get("method", "")
        rid = msg.get("id")
        if method == "initialize":
            asked = (msg.get("params") or {}).get("protocolVersion", "2025-06-18")
            result = {
                "protocolVersion": asked,
                "capabilities": {"tools": {"listChanged": False}},
                "serverInfo": {"name": NAME, "version": VERSION},
            }
            return self._send(
                200,
                {"jsonrpc": "2.0", "id": rid, "result": result},
                {"mcp-session-id": uuid.uuid4().hex},
            )
        if rid is None:  # a notification
            return self._send(202)
        if method == "tools/list":
            return self._send(200, {"jsonrpc": "2.0", "id": rid, "result": {"tools": TOOLS}})
        if method == "tools/call":
            args = (msg.get("params") or {}).get("arguments") or {}
            text = str(args.get("text", ""))
            result = {"content": [{"type": "text", "text": text}], "isError": False}
            return self._send(200, {"jsonrpc": "2.0", "id": rid, "result": result})
        error = {"code": -32601, "message": f"method not found: {method}"}
        return self._send(200, {"jsonrpc": "2.0", "id": rid, "error": error})

    def do_DELETE(self):
        self._send(200 if self.path.split("?")[0] == Handler.path_ else 404)

    def do_GET(self):
        # Streamable HTTP servers may refuse the GET stream; mcpctl never needs it.
        self._send(405)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--path", default="/mcp")
    ap.add_argument("--timeout", type=float, default=60.0)
    a = ap.parse_args()
    Handler.path_ = a.path
    server = ThreadingHTTPServer((a.host, a.port), Handler)
    server.daemon_threads = True

    # os._exit, not server.shutdown(): a shutdown requested before serve_forever starts is
    # forgotten by it, and the server would then live until the timeout.
    def stop(*_):
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    timer = threading.Timer(a.timeout, stop)
    timer.daemon = True
    timer.start()
    sys.stderr.write(f"fake_mcp: listening on {a.host}:{a.port}{a.path}\n")
    sys.stderr.flush()
    server.serve_forever()
    server.server_close()


if __name__ == "__main__":
    main()
