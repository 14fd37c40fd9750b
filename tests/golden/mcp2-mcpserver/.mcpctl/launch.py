"""Serve a Python MCP server object over HTTP without editing its file (written by `mcpctl init`).

    python launch.py MODULE[:OBJECT] [--transport streamable-http|sse] [--host H] [--port P]

The module is imported, not run: its `if __name__ == "__main__":` block (a bare `mcp.run()` is
stdio, which a container cannot use) does not execute. While it is imported, each supported
class's run() only records the call, so an unguarded module-level `mcp.run()` neither starts stdio
nor blocks. Without OBJECT the server object is found by type.

Supported: mcp 1.x FastMCP (mcp.server.fastmcp), mcp 2.x MCPServer (mcp.server.mcpserver),
standalone fastmcp 2.x to 4.x FastMCP.

DNS-rebinding protection (Host/Origin checks) is on: localhost, 127.0.0.1 and [::1] on any port,
plus MCP_ALLOWED_HOSTS (comma-separated, "name:*" for any port). MCP_DNS_REBINDING_PROTECTION=false
turns it off. Exits 78 with one line when there is no server object to serve.
"""

import argparse
import importlib
import inspect
import os
import sys

EX_CONFIG = 78
LOCAL_HOSTS = ["127.0.0.1:*", "localhost:*", "[::1]:*", "127.0.0.1", "localhost", "[::1]"]
LOCAL_ORIGINS = ["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*",
                 "http://127.0.0.1", "http://localhost", "http://[::1]"]


def fail(msg):
    print(f"mcpctl-launch: {msg}", file=sys.stderr, flush=True)
    sys.exit(EX_CONFIG)


def server_classes():
    """(family, class) for each framework importable here."""
    found = []
    for family, mod, name in (
        ("mcp1", "mcp.server.fastmcp", "FastMCP"),  # gone in mcp 2.x
        ("mcp2", "mcp.server.mcpserver", "MCPServer"),
        ("fastmcp", "fastmcp", "FastMCP"),
    ):
        try:
            found.append((family, getattr(importlib.import_module(mod), name)))
        except (ImportError, AttributeError):
            pass
    return found


def import_quietly(module_name, classes):
    """Import the module with every run() recording instead of running; the objects that called it."""
    called, originals = [], {}
    for _, cls in classes:
        originals[cls] = cls.__dict__.get("run")  # None: inherited

        def stub(self, *args, **kwargs):
            called.append(self)
            print(f"mcpctl-launch: ignored {type(self).__name__}.run() called while importing {module_name}",
                  file=sys.stderr, flush=True)

        cls.run = stub
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        if e.name != module_name:
            raise  # a dependency of the server is missing: its own traceback says which
        fail(f"no module {module_name!r} in {os.getcwd()}")
    finally:
        for cls, run in originals.items():
            if run is None:
                del cls.run
            else:
                cls.run = run
    return module, called


def find_server(module, module_name, object_name, called, types):
    if object_name:
        server = getattr(module, object_name, None)
        if server is None:
            fail(f"{module_name} has no attribute {object_name!r}")
        return server
    if called:
        return called[0]
    candidates = [(n, v) for n, v in vars(module).items() if isinstance(v, types)]
    preferred = [c for c in candidates if c[0] in ("mcp", "server", "app")]
    pick = preferred or candidates
    if not pick:
        lowlevel = [n for n, v in vars(module).items() if type(v).__name__ == "Server"]
        hint = f" (low-level Server {lowlevel[0]!r}: serve it with `mcpctl init --stdio`)" if lowlevel else ""
        fail(f"no FastMCP/MCPServer object at module level in {module_name}{hint}")
    return pick[0][1]


def allowed():
    """The extra allowed hosts, or None when protection is off."""
    if os.environ.get("MCP_DNS_REBINDING_PROTECTION", "true").lower() in ("false", "0", "no", "off"):
        return None
    return [h.strip() for h in os.environ.get("MCP_ALLOWED_HOSTS", "").split(",") if h.strip()]


def serve(server, family, transport, host, port):
    extra = allowed()
    if family == "fastmcp":
        # Its own Host/Origin guard is off by default; turn it on where this version has it.
        # Its patterns are compared without the port.
        kwargs = {}
        if extra is not None and "host_origin_protection" in inspect.signature(server.run_http_async).parameters:
            kwargs = {"host_origin_protection": True,
                      "allowed_hosts": [h.rsplit(":", 1)[0] if h.count(":") == 1 else h for h in extra]}
        server.run(transport="http" if transport == "streamable-http" else "sse", host=host, port=port, **kwargs)
        return
    from mcp.server.transport_security import TransportSecuritySettings

    if extra is None:
        security = TransportSecuritySettings(enable_dns_rebinding_protection=False)
    else:
        security = TransportSecuritySettings(
            enable_dns_rebinding_protection=True,
            allowed_hosts=LOCAL_HOSTS + extra,
            allowed_origins=LOCAL_ORIGINS + [f"http://{h}" for h in extra],
        )
    if family == "mcp1":
        # mcp 1.x keeps host and port in settings (the constructor's values beat FASTMCP_HOST/PORT).
        server.settings.host = host
        server.settings.port = port
        server.settings.transport_security = security
        server.run(transport)
    else:
        # mcp 2.x takes them as run() arguments.
        server.run(transport, host=host, port=port, transport_security=security)


def main():
    p = argparse.ArgumentParser(description="serve an MCP server object over HTTP")
    p.add_argument("server", help="MODULE[:OBJECT]")
    p.add_argument("--transport", choices=["streamable-http", "sse"], default="streamable-http")
    p.add_argument("--host", default="0.0.0.0")
    p.add_argument("--port", type=int, default=3001)
    a = p.parse_args()
    module_name, _, object_name = a.server.partition(":")
    sys.path.insert(0, os.getcwd())
    classes = server_classes()
    if not classes:
        fail("none of mcp.server.fastmcp.FastMCP, mcp.server.mcpserver.MCPServer, fastmcp.FastMCP imports here")
    module, called = import_quietly(module_name, classes)
    server = find_server(module, module_name, object_name, called, tuple(c for _, c in classes))
    family = next((f for f, cls in classes if isinstance(server, cls)), None)
    if family is None:
        fail(f"{a.server} is a {type(server).__module__}.{type(server).__name__}, not a supported server")
    print(f"mcpctl-launch: {module_name} ({family} {type(server).__name__}) over {a.transport} on {a.host}:{a.port}",
          file=sys.stderr, flush=True)
    serve(server, family, a.transport, a.host, a.port)


if __name__ == "__main__":
    main()
