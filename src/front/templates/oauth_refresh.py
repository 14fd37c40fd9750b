# mcpctl's OAuth key refresher: written by mcpctl into the front's config directory, run by
# HAProxy's master (a `program` section) inside the front's container, so the issuer's keys are
# followed without anyone running mcpctl.
#
# Every project directory under KEYS_DIR (/var/run/mcpctl-front/oauth/NAME) holds issuer.json
# (what to fetch), k0.pem..kN.pem (one public key per slot), kids.map (kid -> "kSLOT:ALG") and
# meta.json (what was fetched when). Every `refresh` seconds the issuer's metadata gives its
# jwks_uri, the JWKS gives the keys; when they differ from the files, the files are rewritten and
# the master reloads (SIGUSR2), since HAProxy reads keys and maps only when it starts or reloads.
# A fetch that fails keeps the keys the front has, and says so in meta.json.
#
# The JWK -> SubjectPublicKeyInfo PEM conversion is written by hand (the image has python3 but no
# crypto package); src/front/oauth.rs does the same in Rust, and both are tested against openssl.
import base64
import json
import os
import signal
import sys
import time
import urllib.parse
import urllib.request

ALGS = {"RS256", "RS384", "RS512", "ES256", "ES384", "ES512"}
CURVES = {"ES256": ("P-256", bytes.fromhex("06082a8648ce3d030107")),
          "ES384": ("P-384", bytes.fromhex("06052b81040022")),
          "ES512": ("P-521", bytes.fromhex("06052b81040023"))}
RSA_OID = bytes.fromhex("06092a864886f70d0101010500")
EC_OID = bytes.fromhex("06072a8648ce3d0201")


def log(msg):
    print("mcpctl-oauth-keys: " + msg, flush=True)


def der(tag, body):
    n = len(body)
    if n < 0x80:
        head = bytes([n])
    else:
        b = n.to_bytes((n.bit_length() + 7) // 8, "big")
        head = bytes([0x80 | len(b)]) + b
    return bytes([tag]) + head + body


def der_int(raw):
    raw = raw.lstrip(b"\0") or b"\0"
    if raw[0] & 0x80:
        raw = b"\0" + raw
    return der(0x02, raw)


def b64url(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def pem_of(jwk, alg):
    if alg.startswith("RS"):
        rsa = der(0x30, der_int(b64url(jwk["n"])) + der_int(b64url(jwk["e"])))
        spki = der(0x30, der(0x30, RSA_OID) + der(0x03, b"\0" + rsa))
    else:
        _, oid = CURVES[alg]
        point = b"\x04" + b64url(jwk["x"]) + b64url(jwk["y"])
        spki = der(0x30, der(0x30, EC_OID + oid) + der(0x03, b"\0" + point))
    b = base64.b64encode(spki).decode()
    lines = [b[i:i + 64] for i in range(0, len(b), 64)]
    return "-----BEGIN PUBLIC KEY-----\n" + "\n".join(lines) + "\n-----END PUBLIC KEY-----\n"


def key_alg(jwk, allowed):
    """The algorithm a key is pinned to, or None (with why) when it cannot be."""
    kty, alg = jwk.get("kty"), jwk.get("alg")
    if alg is None:
        if kty == "RSA":
            alg = next((a for a in sorted(allowed) if a.startswith("RS")), "RS256")
        elif kty == "EC":
            alg = next((a for a, (crv, _) in CURVES.items() if crv == jwk.get("crv")), None)
    if alg not in ALGS:
        return None, "alg %s cannot be verified by HAProxy" % alg
    if alg not in allowed:
        return None, "alg %s is not allowed" % alg
    if alg.startswith("RS") and kty != "RSA":
        return None, "alg %s on a %s key" % (alg, kty)
    if alg.startswith("ES") and (kty != "EC" or jwk.get("crv") != CURVES[alg][0]):
        return None, "alg %s on a %s %s key" % (alg, kty, jwk.get("crv"))
    return alg, None


def get_json(url):
    req = urllib.request.Request(url, headers={"Accept": "application/json", "User-Agent": "mcpctl-front"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read().decode())


def metadata_urls(issuer):
    u = urllib.parse.urlsplit(issuer)
    origin = "%s://%s" % (u.scheme, u.netloc)
    path = u.path.rstrip("/")
    return [origin + "/.well-known/oauth-authorization-server" + path,
            issuer.rstrip("/") + "/.well-known/openid-configuration"]


def fetch(conf):
    meta, last = None, None
    for url in metadata_urls(conf["issuer"]):
        try:
            m = get_json(url)
            if m.get("issuer") == conf["issuer"] and m.get("jwks_uri"):
                meta = m
                break
            last = "%s names another issuer or no jwks_uri" % url
        except Exception as e:  # any failure: try the next form, then keep the keys
            last = "%s: %s" % (url, e)
    if meta is None:
        raise RuntimeError(last)
    jwks = get_json(meta["jwks_uri"])
    keys = []
    for jwk in jwks.get("keys", []):
        if jwk.get("use", "sig") != "sig" or not jwk.get("kid"):
            continue
        alg, why = key_alg(jwk, set(conf["algs"]))
        if alg is None:
            log("key %s skipped: %s" % (jwk.get("kid"), why))
            continue
        try:
            keys.append((jwk["kid"], alg, pem_of(jwk, alg)))
        except Exception as e:
            log("key %s skipped: %s" % (jwk.get("kid"), e))
    if not keys:
        raise RuntimeError("%s holds no key the front can use" % meta["jwks_uri"])
    return meta["jwks_uri"], keys[: conf["slots"]]


def write(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def refresh(d):
    conf = json.loads(read(os.path.join(d, "issuer.json")))
    meta = json.loads(read(os.path.join(d, "meta.json")) or "{}")
    try:
        jwks_uri, keys = fetch(conf)
    except Exception as e:
        meta.update({"last_error": str(e), "failed_at": int(time.time())})
        write(os.path.join(d, "meta.json"), json.dumps(meta, indent=1) + "\n")
        log("%s: fetch failed, the keys stay: %s" % (os.path.basename(d), e))
        return False, conf["refresh"]
    files = {"kids.map": "".join("%s k%d:%s\n" % (kid, i, alg) for i, (kid, alg, _) in enumerate(keys))}
    for i in range(conf["slots"]):
        # A slot without a key holds the last one: the config names every slot's file, and no
        # kid points at it.
        files["k%d.pem" % i] = keys[min(i, len(keys) - 1)][2]
    changed = any(read(os.path.join(d, n)) != t for n, t in files.items())
    for n, t in files.items():
        if changed:
            write(os.path.join(d, n), t)
    meta = {"issuer": conf["issuer"], "jwks_uri": jwks_uri, "kids": [k for k, _, _ in keys],
            "algs": [a for _, a, _ in keys], "fetched_at": int(time.time()), "by": "front"}
    write(os.path.join(d, "meta.json"), json.dumps(meta, indent=1) + "\n")
    if changed:
        log("%s: keys changed: %s" % (os.path.basename(d), ", ".join(meta["kids"])))
    return changed, conf["refresh"]


def main():
    root = sys.argv[1]
    while True:
        reload, wait = False, 60
        for name in sorted(os.listdir(root)) if os.path.isdir(root) else []:
            d = os.path.join(root, name)
            if not os.path.isfile(os.path.join(d, "issuer.json")):
                continue
            try:
                changed, every = refresh(d)
            except Exception as e:
                log("%s: %s" % (name, e))
                changed, every = False, 60
            reload |= changed
            wait = min(wait, every)
        if reload:
            # The master reloads: new workers read the new keys; this program is started again.
            os.kill(os.getppid(), signal.SIGUSR2)
        time.sleep(wait)


if __name__ == "__main__":
    main()
