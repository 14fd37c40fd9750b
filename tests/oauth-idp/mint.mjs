// Tokens the tests forge (an attacker's, or an issuer's that is too old): signed with a key from
// the authorization server's key directory, or not at all. Reads one JSON line on stdin:
//   {"keyfile": "...", "header": {...}, "payload": {...}, "hmac_key": "..." (for HS256)}
// and prints the token. Only refusals are tested with these; valid tokens come from idp.mjs.
import fs from 'node:fs';
import crypto from 'node:crypto';

const req = JSON.parse(fs.readFileSync(0, 'utf8'));
const b64 = (b) => Buffer.from(b).toString('base64url');
const head = b64(JSON.stringify(req.header));
const body = b64(JSON.stringify(req.payload));
const input = `${head}.${body}`;
let sig = '';
const alg = req.header.alg;
if (alg === 'none') {
  sig = '';
} else if (alg.startsWith('HS')) {
  sig = b64(crypto.createHmac('sha' + alg.slice(2), req.hmac_key).update(input).digest());
} else {
  const jwk = JSON.parse(fs.readFileSync(req.keyfile, 'utf8'));
  const key = crypto.createPrivateKey({ key: jwk, format: 'jwk' });
  const hash = 'sha' + alg.slice(2);
  sig = b64(crypto.sign(hash, Buffer.from(input), alg.startsWith('ES') ? { key, dsaEncoding: 'ieee-p1363' } : key));
}
process.stdout.write(`${input}.${sig}`);
