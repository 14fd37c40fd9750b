# mcpctl's health check of a swarm task (a swarm config mounted at /mcpctl-health.py): healthy
# means the server answers MCP, in either era, and the check leaves no session behind.
#   python3 /mcpctl-health.py PORT PATH MODE HOST     MODE: http, sse or auto; HOST: the Host
#   header clients send through the front (DNS-rebinding protection allows it)
# 2026-07-28: server/discover, stateless. 2025: initialize, then DELETE of the session it opened.
# The old SSE transport: the stream's status and content type, then the stream is closed.
import http.client
import json
import sys

PORT, PATH, MODE, HOST = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
ACCEPT = "application/json, text/event-stream"
DISCOVER = {"jsonrpc": "2.0", "id": 1, "method": "server/discover", "params": {"_meta": {
    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
    "io.modelcontextprotocol/clientInfo": {"name": "mcpctl-health", "version": "1"},
    "io.modelcontextprotocol/clientCapabilities": {}}}}
INITIALIZE = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
    "protocolVersion": "2025-03-26", "capabilities": {},
    "clientInfo": {"name": "mcpctl-health", "version": "1"}}}


def request(method, path, headers, body=None):
    c = http.client.HTTPConnection("127.0.0.1", PORT, timeout=3)
    h = {"Host": HOST}
    h.update(headers)
    c.request(method, path, body=json.dumps(body) if body is not None else None, headers=h)
    r = c.getresponse()
    # An SSE answer ends after its one event; a stream (GET) is only looked at.
    data = r.read() if method != "GET" else b""
    c.close()
    return r, data


def answered(data):
    text = data.decode("utf-8", "replace")
    for line in text.splitlines():
        if line.startswith("data:"):
            text = line[5:]
            break
    try:
        return "result" in json.loads(text)
    except ValueError:
        return False


def streamable():
    r, data = request("POST", PATH, {"Content-Type": "application/json", "Accept": ACCEPT,
                                     "MCP-Protocol-Version": "2026-07-28",
                                     "Mcp-Method": "server/discover"}, DISCOVER)
    if r.status == 200 and answered(data):
        return True
    r, data = request("POST", PATH, {"Content-Type": "application/json", "Accept": ACCEPT}, INITIALIZE)
    if r.status != 200 or not answered(data):
        return False
    sid = r.getheader("mcp-session-id")
    if sid:
        r, _ = request("DELETE", PATH, {"Mcp-Session-Id": sid})
        # 405: a server that does not let clients end sessions.
        return 200 <= r.status < 300 or r.status == 405
    return True


def sse(path):
    r, _ = request("GET", path, {"Accept": "text/event-stream"})
    return r.status == 200 and (r.getheader("content-type") or "").startswith("text/event-stream")


try:
    if MODE == "sse":
        ok = sse(PATH)
    elif MODE == "http":
        ok = streamable()
    else:
        ok = streamable() or sse("/sse" if PATH == "/mcp" else PATH)
except Exception as e:  # noqa: BLE001 - any failure is "not healthy", said in one line
    print("mcpctl-health: %s" % e)
    ok = False
sys.exit(0 if ok else 1)
