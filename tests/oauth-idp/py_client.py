"""The official Python SDK's client through the front, run in the project's image (which has the
mcp package) on the host's network. Secrets come from the environment, never argv.

  py_client.py URL token   -> MCP_TOKEN as the bearer
  py_client.py URL oauth   -> the SDK's own OAuth client (client credentials): it follows the
                              front's 401 to the metadata, the issuer's metadata, and asks for a
                              token for the resource (RFC 8707); OAUTH_CLIENT_ID/SECRET, OAUTH_ISSUER
  py_client.py URL code    -> the SDK's own OAuth client, authorization code with PKCE: it
                              registers itself (dynamic registration), and the browser's part (the
                              issuer's login and consent pages) is driven here over HTTP

Prints {"tools": [...], "echo": "..."}; exits 1 on any failure.
"""
import asyncio
import json
import os
import re
import sys
import urllib.parse

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


REDIRECT = "http://localhost:9/callback"  # never reached: the code is read from the redirect


def code_flow(url):
    """The SDK's OAuthClientProvider; what a browser does is done with httpx: follow the issuer's
    redirects, sign in on its login page (oidc-provider's), continue on its consent page, and take
    the code and state from the redirect to REDIRECT."""
    from mcp.client.auth import OAuthClientProvider
    from mcp.shared.auth import OAuthClientMetadata

    got = {}

    async def browser(auth_url):
        async with httpx.AsyncClient(follow_redirects=False, timeout=20) as h:
            r = await h.get(auth_url)
            for _ in range(20):
                loc = r.headers.get("location")
                if loc:
                    nxt = urllib.parse.urljoin(str(r.url), loc)
                    if nxt.startswith(REDIRECT):
                        q = urllib.parse.parse_qs(urllib.parse.urlsplit(nxt).query)
                        if "code" not in q:
                            raise RuntimeError("the issuer refused: %s" % q)
                        got["code"], got["state"] = q["code"][0], q.get("state", [None])[0]
                        return
                    try:
                        r = await h.get(nxt)
                    except httpx.HTTPError as e:
                        raise RuntimeError("the browser cannot reach %s: %r" % (nxt, e)) from e
                    continue
                action = re.search(r'action="([^"]+)"', r.text)
                if r.status_code != 200 or not action:
                    raise RuntimeError("unexpected page %s: %s" % (r.status_code, r.text[:300]))
                submit = urllib.parse.urljoin(str(r.url), action.group(1))
                if 'name="login"' in r.text:
                    r = await h.post(submit, data={"prompt": "login", "login": "alice", "password": "x"})
                else:
                    r = await h.post(submit, data={"prompt": "consent"})
            raise RuntimeError("too many redirects")

    async def callback():
        return got["code"], got["state"]

    return OAuthClientProvider(
        server_url=url,
        client_metadata=OAuthClientMetadata(
            client_name="mcpctl-e2e",
            redirect_uris=[REDIRECT],
            grant_types=["authorization_code", "refresh_token"],
            response_types=["code"],
        ),
        storage=Memory(),
        redirect_handler=browser,
        callback_handler=callback,
    )


async def main(url, mode):
    kw = {}
    if mode == "token":
        kw["headers"] = {"Authorization": "Bearer " + os.environ["MCP_TOKEN"]}
    elif mode == "oauth":
        from mcp.client.auth.extensions.client_credentials import ClientCredentialsOAuthProvider

        kw["auth"] = ClientCredentialsOAuthProvider(
            server_url=url,
            storage=Memory(),
            client_id=os.environ["OAUTH_CLIENT_ID"],
            client_secret=os.environ["OAUTH_CLIENT_SECRET"],
            scopes="mcp:read",
            issuer=os.environ["OAUTH_ISSUER"],
        )
    elif mode == "code":
        kw["auth"] = code_flow(url)
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
