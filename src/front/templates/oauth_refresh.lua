-- mcpctl's OAuth key refresher: written by mcpctl into the front's config directory and loaded
-- by HAProxy itself (a task, `lua-load`), so the issuer's keys are followed without mcpctl and
-- with nothing but HAProxy in the image (the official one has no python, curl or wget).
--
-- Every project directory named in oauth-projects.txt under KEYS_DIR holds issuer.json (what to
-- fetch), k0.pem..kN.pem (one public key per slot), kids.map (kid -> "kSLOT:ALG") and meta.json
-- (what was fetched when). Every `refresh` seconds the issuer's metadata gives its jwks_uri, the
-- JWKS gives the keys; when they differ from the files, the files are rewritten and HAProxy's
-- master (PID 1 in the front's container) reloads, since HAProxy reads keys and maps only when
-- it starts or reloads. A fetch that fails keeps the keys the front has, and says so in meta.json.
--
-- The JWK -> SubjectPublicKeyInfo PEM conversion is written by hand, as in src/front/oauth.rs;
-- both are tested against openssl's output.

local KEYS_DIR = "/var/run/mcpctl-front/oauth"
local PROJECTS = "/usr/local/etc/haproxy/oauth-projects.txt"

local function log(msg)
  core.Info("mcpctl-oauth-keys: " .. msg)
end

-- ---- JSON (what metadata and JWKS documents hold) ---------------------------------------------
local json_value

local function skip(s, i)
  return s:find("[^ \t\r\n]", i) or #s + 1
end

local function json_string(s, i)
  local out, j = {}, i + 1
  while true do
    local c = s:sub(j, j)
    if c == "" then error("unterminated string") end
    if c == '"' then return table.concat(out), j + 1 end
    if c == "\\" then
      local e = s:sub(j + 1, j + 1)
      local map = { b = "\b", f = "\f", n = "\n", r = "\r", t = "\t" }
      if e == "u" then
        local code = tonumber(s:sub(j + 2, j + 5), 16)
        out[#out + 1] = code < 128 and string.char(code) or "?"
        j = j + 6
      else
        out[#out + 1] = map[e] or e
        j = j + 2
      end
    else
      out[#out + 1] = c
      j = j + 1
    end
  end
end

json_value = function(s, i)
  i = skip(s, i)
  local c = s:sub(i, i)
  if c == "{" then
    local obj = {}
    i = skip(s, i + 1)
    if s:sub(i, i) == "}" then return obj, i + 1 end
    while true do
      local k
      k, i = json_string(s, skip(s, i))
      i = skip(s, i)
      if s:sub(i, i) ~= ":" then error("expected :") end
      obj[k], i = json_value(s, i + 1)
      i = skip(s, i)
      local d = s:sub(i, i)
      if d == "}" then return obj, i + 1 end
      if d ~= "," then error("expected , or }") end
      i = i + 1
    end
  elseif c == "[" then
    local arr = {}
    i = skip(s, i + 1)
    if s:sub(i, i) == "]" then return arr, i + 1 end
    while true do
      arr[#arr + 1], i = json_value(s, i)
      i = skip(s, i)
      local d = s:sub(i, i)
      if d == "]" then return arr, i + 1 end
      if d ~= "," then error("expected , or ]") end
      i = i + 1
    end
  elseif c == '"' then
    return json_string(s, i)
  elseif s:sub(i, i + 3) == "true" then
    return true, i + 4
  elseif s:sub(i, i + 4) == "false" then
    return false, i + 5
  elseif s:sub(i, i + 3) == "null" then
    return nil, i + 4
  else
    local num = s:match("^-?[%d%.eE+-]+", i)
    if not num then error("unexpected " .. c) end
    return tonumber(num), i + #num
  end
end

local function json_decode(s)
  local v = json_value(s, 1)
  return v
end

local function json_quote(s)
  return '"' .. tostring(s):gsub('[%c"\\]', function(c) return string.format("\\u%04x", c:byte()) end) .. '"'
end

-- ---- base64 and DER -----------------------------------------------------------------------------
local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

local function b64url_decode(s)
  s = s:gsub("-", "+"):gsub("_", "/"):gsub("=", "")
  local out, bits, n = {}, 0, 0
  for k = 1, #s do
    local v = B64:find(s:sub(k, k), 1, true)
    if not v then error("not base64url") end
    bits = (bits << 6) | (v - 1)
    n = n + 6
    if n >= 8 then
      n = n - 8
      out[#out + 1] = string.char((bits >> n) & 0xff)
    end
  end
  return table.concat(out)
end

local function b64_encode(data)
  local out = {}
  for k = 1, #data, 3 do
    local a, b, c = data:byte(k, k + 2)
    local v = (a << 16) | ((b or 0) << 8) | (c or 0)
    for j = 0, 3 do
      if j <= (#data - k + 1) then
        local idx = (v >> (18 - 6 * j)) & 63
        out[#out + 1] = B64:sub(idx + 1, idx + 1)
      else
        out[#out + 1] = "="
      end
    end
  end
  return table.concat(out)
end

local function der(tag, body)
  local n = #body
  local head
  if n < 0x80 then
    head = string.char(n)
  else
    local bytes = {}
    while n > 0 do
      table.insert(bytes, 1, string.char(n & 0xff))
      n = n >> 8
    end
    head = string.char(0x80 | #bytes) .. table.concat(bytes)
  end
  return string.char(tag) .. head .. body
end

local function der_uint(raw)
  raw = raw:gsub("^%z+", "")
  if raw == "" or raw:byte(1) >= 0x80 then raw = "\0" .. raw end
  return der(0x02, raw)
end

local RSA_ALG_ID = "\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x01\x01\x05\x00"
local EC_PUBLIC_KEY = "\x06\x07\x2a\x86\x48\xce\x3d\x02\x01"
local CURVES = {
  ES256 = { "P-256", "\x06\x08\x2a\x86\x48\xce\x3d\x03\x01\x07" },
  ES384 = { "P-384", "\x06\x05\x2b\x81\x04\x00\x22" },
  ES512 = { "P-521", "\x06\x05\x2b\x81\x04\x00\x23" },
}
local ALGS = { RS256 = true, RS384 = true, RS512 = true, ES256 = true, ES384 = true, ES512 = true }

local function pem_of(jwk, alg)
  local spki
  if alg:sub(1, 2) == "RS" then
    local rsa = der(0x30, der_uint(b64url_decode(jwk.n)) .. der_uint(b64url_decode(jwk.e)))
    spki = der(0x30, der(0x30, RSA_ALG_ID) .. der(0x03, "\0" .. rsa))
  else
    local point = "\4" .. b64url_decode(jwk.x) .. b64url_decode(jwk.y)
    spki = der(0x30, der(0x30, EC_PUBLIC_KEY .. CURVES[alg][2]) .. der(0x03, "\0" .. point))
  end
  local b, lines = b64_encode(spki), {}
  for k = 1, #b, 64 do lines[#lines + 1] = b:sub(k, k + 63) end
  return "-----BEGIN PUBLIC KEY-----\n" .. table.concat(lines, "\n") .. "\n-----END PUBLIC KEY-----\n"
end

-- The algorithm a key is pinned to, or nil and why.
local function key_alg(jwk, allowed)
  local alg = jwk.alg
  if alg == nil then
    if jwk.kty == "RSA" then
      alg = "RS256"
      for _, a in ipairs(allowed) do
        if a:sub(1, 2) == "RS" then alg = a break end
      end
    elseif jwk.kty == "EC" then
      for a, c in pairs(CURVES) do
        if c[1] == jwk.crv then alg = a end
      end
    end
  end
  if not ALGS[alg] then return nil, "alg " .. tostring(alg) .. " cannot be verified by HAProxy" end
  local ok = false
  for _, a in ipairs(allowed) do ok = ok or a == alg end
  if not ok then return nil, "alg " .. alg .. " is not allowed" end
  if alg:sub(1, 2) == "RS" and jwk.kty ~= "RSA" then return nil, "alg " .. alg .. " on a non-RSA key" end
  if alg:sub(1, 2) == "ES" and (jwk.kty ~= "EC" or jwk.crv ~= CURVES[alg][1]) then
    return nil, "alg " .. alg .. " on another curve"
  end
  return alg
end

-- ---- fetching -----------------------------------------------------------------------------------
local function get_json(url)
  local hc = core.httpclient()
  local res = hc:get({ url = url, headers = { ["accept"] = { "application/json" } }, timeout = 10000 })
  if not res or res.status ~= 200 then
    error(url .. " answers " .. tostring(res and res.status))
  end
  return json_decode(res.body)
end

local function metadata_urls(issuer)
  local origin, path = issuer:match("^(https?://[^/]+)(.*)$")
  path = path:gsub("/+$", "")
  return {
    origin .. "/.well-known/oauth-authorization-server" .. path,
    issuer:gsub("/+$", "") .. "/.well-known/openid-configuration",
  }
end

local function fetch(conf)
  local meta, last
  for _, url in ipairs(metadata_urls(conf.issuer)) do
    local ok, m = pcall(get_json, url)
    if ok and type(m) == "table" and m.issuer == conf.issuer and m.jwks_uri then
      meta = m
      break
    end
    last = ok and (url .. " names another issuer or no jwks_uri") or tostring(m)
  end
  if not meta then error(last) end
  local jwks = get_json(meta.jwks_uri)
  local keys = {}
  for _, jwk in ipairs(jwks.keys or {}) do
    if (jwk.use == nil or jwk.use == "sig") and jwk.kid and #keys < conf.slots then
      local alg, why = key_alg(jwk, conf.algs)
      if alg then
        local ok, pem = pcall(pem_of, jwk, alg)
        if ok then
          keys[#keys + 1] = { kid = jwk.kid, alg = alg, pem = pem }
        else
          log("key " .. jwk.kid .. " skipped: " .. tostring(pem))
        end
      else
        log("key " .. jwk.kid .. " skipped: " .. why)
      end
    end
  end
  if #keys == 0 then error(meta.jwks_uri .. " holds no key the front can use") end
  return meta.jwks_uri, keys
end

-- ---- files --------------------------------------------------------------------------------------
local function read(path)
  local f = io.open(path, "r")
  if not f then return nil end
  local t = f:read("a")
  f:close()
  return t
end

local function write(path, text)
  local tmp = path .. ".tmp"
  local f = assert(io.open(tmp, "w"))
  f:write(text)
  f:close()
  assert(os.rename(tmp, path))
end

local function meta_json(m)
  local parts = {}
  for _, k in ipairs({ "issuer", "jwks_uri", "by", "last_error" }) do
    if m[k] ~= nil then parts[#parts + 1] = json_quote(k) .. ": " .. json_quote(m[k]) end
  end
  for _, k in ipairs({ "fetched_at", "failed_at" }) do
    if m[k] ~= nil then parts[#parts + 1] = json_quote(k) .. ": " .. string.format("%d", m[k]) end
  end
  if m.kids then
    local q = {}
    for _, k in ipairs(m.kids) do q[#q + 1] = json_quote(k) end
    parts[#parts + 1] = '"kids": [' .. table.concat(q, ", ") .. "]"
  end
  return "{\n " .. table.concat(parts, ",\n ") .. "\n}\n"
end

local function refresh(dir)
  local conf = json_decode(assert(read(dir .. "/issuer.json")))
  local ok, jwks_uri, keys = pcall(fetch, conf)
  if not ok then
    local meta = json_decode(read(dir .. "/meta.json") or "{}") or {}
    meta.last_error, meta.failed_at = tostring(jwks_uri), os.time()
    write(dir .. "/meta.json", meta_json(meta))
    log(dir .. ": fetch failed, the keys stay: " .. tostring(jwks_uri))
    return false, conf.refresh
  end
  local files = {}
  local map = {}
  for k, key in ipairs(keys) do map[#map + 1] = key.kid .. " k" .. (k - 1) .. ":" .. key.alg .. "\n" end
  files["kids.map"] = table.concat(map)
  for k = 0, conf.slots - 1 do
    -- A slot without a key holds the last one: the config names every slot's file, and no kid
    -- points at it.
    files["k" .. k .. ".pem"] = keys[math.min(k + 1, #keys)].pem
  end
  local changed = false
  for name, text in pairs(files) do changed = changed or read(dir .. "/" .. name) ~= text end
  if changed then
    for name, text in pairs(files) do write(dir .. "/" .. name, text) end
  end
  local kids = {}
  for _, key in ipairs(keys) do kids[#kids + 1] = key.kid end
  write(dir .. "/meta.json", meta_json({ issuer = conf.issuer, jwks_uri = jwks_uri, kids = kids,
    fetched_at = os.time(), by = "front" }))
  if changed then log(dir .. ": keys changed: " .. table.concat(kids, ", ")) end
  return changed, conf.refresh
end

core.register_task(function()
  while true do
    local reload, wait = false, 60
    local list = read(PROJECTS) or ""
    for name in list:gmatch("[^\n]+") do
      local ok, changed, every = pcall(refresh, KEYS_DIR .. "/" .. name)
      if not ok then
        log(name .. ": " .. tostring(changed))
      else
        reload = reload or changed
        wait = math.min(wait, every or 60)
      end
    end
    if reload then
      -- The master reloads: new workers read the new keys (and run this task again).
      os.execute("kill -USR2 1")
    end
    core.sleep(wait)
  end
end)
