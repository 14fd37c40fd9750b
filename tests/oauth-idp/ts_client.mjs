// The TypeScript SDK's client through the front: lists the tools and calls echo, with the token
// from MCP_TOKEN (never in argv). Prints {"tools": [...], "echo": "..."}; exits 1 on any error.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

const url = new URL(process.argv[2]);
const headers = process.env.MCP_TOKEN ? { Authorization: `Bearer ${process.env.MCP_TOKEN}` } : {};
const transport = new StreamableHTTPClientTransport(url, { requestInit: { headers } });
const client = new Client({ name: 'mcpctl-e2e-ts', version: '1.0.0' });
try {
  await client.connect(transport);
  const tools = (await client.listTools()).tools.map((t) => t.name).sort();
  const r = await client.callTool({ name: 'echo', arguments: { text: 'from ts' } });
  console.log(JSON.stringify({ tools, echo: r.content?.[0]?.text }));
  await client.close();
} catch (e) {
  console.error(String(e));
  process.exit(1);
}
