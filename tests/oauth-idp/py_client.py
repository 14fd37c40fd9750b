"""The official Python SDK's client through the front, run in the project's image (which has the
mcp package) on the host's network. Secrets come from the environment, never argv.

  py_client.py URL token   -> MCP_TOKEN as the bearer
  py_client.py URL oauth   -> the SDK's own OAuth client (client credentials): it follows the
                              front's 401 to the metadata, the issuer's metadata, and asks for a
                              token for the resource (RFC 8707); OAUTH_CLIENT_ID/SECRET, OAUTH_ISSUER

Prints {"tools": [...], "echo": "..."}; exits 1 on any failure.
"""
import asyncio
import json
import os
import sys

import httpx
from mcp import ClientSession
from mcp.client.streamable_http import streamablehttp_client


class Memory:
    def __init__(self):
        self.tokens, self.client = None, None

    async def get_tokens(self):
        return self.tokens

    async def set_tokens(self, tokens):
        self.tokens = tokens

    async def get_client_info(self):
        return self.client

    async def set_client_info(self, info):
        self.client = info


async def main(url, mode):
    kw = {}
    if mode == "token":
        kw["headers"] = {"Authorization": "Bearer " + os.environ["MCP_TOKEN"]}
    else:
        from mcp.client.auth.extensions.client_credentials import ClientCredentialsOAuthProvider

        kw["auth"] = ClientCredentialsOAuthProvider(
            server_url=url,
            storage=Memory(),
            client_id=os.environ["OAUTH_CLIENT_ID"],
            client_secret=os.environ["OAUTH_CLIENT_SECRET"],
            scopes="mcp:read",
            issuer=os.environ["OAUTH_ISSUER"],
        )
    async with streamablehttp_client(url, **kw) as (r, w, _):
        async with ClientSession(r, w) as s:
            await s.initialize()
            tools = sorted(t.name for t in (await s.list_tools()).tools)
            out = await s.call_tool("echo", {"text": "from python"})
            print(json.dumps({"tools": tools, "echo": out.content[0].text}))


try:
    asyncio.run(main(sys.argv[1], sys.argv[2]))
except BaseException as e:  # the whole chain, for the test's message
    print("failed: %r" % (e,), file=sys.stderr)
    sys.exit(1)
