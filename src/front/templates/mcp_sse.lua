-- mcp_sse.lua: HAProxy (2.5+) Lua filter for MCP's SSE transport behind a path prefix.
--
--   filter lua.mcp_sse_endpoint /NAME      (in the project's backend)
--
-- The server's first SSE event is
--     event: endpoint
--     data: /messages/?session_id=<hex>
-- and names a path at the server's root. The front strips /NAME before forwarding, so the client
-- must be told /NAME/messages/...; this filter inserts the prefix into that one event and appends
-- &mcpctl_srv=<server> (the slot that holds the stream) so that the backend's
-- "use-server %[url_param(mcpctl_srv)]" sends each POST of the session to the same container,
-- also while it drains. After that event the filter unregisters itself: the rest of the stream
-- passes untouched. Only text/event-stream responses are looked at.

local Endpoint = {}
Endpoint.id = "mcp sse endpoint prefix"
Endpoint.flags = filter.FLT_CFG_FL_HTX
Endpoint.__index = Endpoint

function Endpoint:new()
    -- self is the instance configured below (one per "filter" line): copy its prefix
    local f = {prefix = self.prefix or "/", done = false}
    setmetatable(f, Endpoint)
    return f
end

function Endpoint:http_headers(txn, http_msg)
    -- Answers to POSTs (streamable HTTP's JSON-RPC answers) are never looked at.
    if http_msg.channel:is_resp() and txn:get_var("txn.mcp_get") then
        local ct = http_msg:get_headers()["content-type"]
        if ct and ct[0] and ct[0]:find("text/event-stream", 1, true) then
            filter.register_data_filter(self, http_msg.channel)
        end
    end
    return filter.CONTINUE
end

function Endpoint:http_payload(txn, http_msg)
    if self.done then
        return
    end
    local body = http_msg:body()
    if body == nil then
        return
    end
    -- "event: endpoint" then "data: /..." (lines end in \r\n with sse-starlette, \n elsewhere)
    local s, e = body:find("event: endpoint\r?\ndata: ")
    if s == nil then
        if #body > 4096 or body:find("\r?\n\r?\n") then
            -- not an MCP SSE stream (another event came first): leave it alone
            self.done = true
            filter.unregister_data_filter(self, http_msg.channel)
        end
        return -- otherwise wait for more data (nothing forwarded yet)
    end
    local line_end = body:find("\r?\n", e + 1)
    if line_end == nil then
        return -- the data line is not complete yet
    end
    local path = body:sub(e + 1, line_end - 1)
    if path:sub(1, 1) ~= "/" then
        self.done = true -- a full URL or something else: not ours to touch
        filter.unregister_data_filter(self, http_msg.channel)
        return
    end
    local new = path
    if self.prefix ~= "/" and path:sub(1, #self.prefix + 1) ~= self.prefix .. "/" then
        new = self.prefix .. path
    end
    local srv = txn.f:srv_name()
    if srv and srv ~= "" then
        new = new .. (new:find("?", 1, true) and "&" or "?") .. "mcpctl_srv=" .. srv
    end
    -- offsets in http_msg:set() are 0-based within the incoming data
    http_msg:set(new, e, #path)
    self.done = true
    filter.unregister_data_filter(self, http_msg.channel)
end

core.register_filter("mcp_sse_endpoint", Endpoint, function(f, args)
    f.prefix = args[1] or "/"
    return f
end)
