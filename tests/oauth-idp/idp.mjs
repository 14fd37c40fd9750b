// The e2e tests' authorization server: oidc-provider (an established open-source OAuth 2.1 /
// OpenID server), not a mock. Client credentials with resource indicators (RFC 8707): an access
// token is a JWT whose aud is the resource asked for, signed with the first of IDP_KIDS.
//
//   IDP_PORT=43001 IDP_ISSUER=http://192.0.2.2:43001 IDP_KEYDIR=dir IDP_KIDS=rs-1:RS256,es-1:ES256 node idp.mjs
//
// Keys are made on first use and kept in IDP_KEYDIR/KID.json (so a restart with other kids is a
// key rotation, and the tests can sign forged tokens with a real key). Prints "listening" when up.
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import Provider from 'oidc-provider';

const { IDP_PORT, IDP_ISSUER, IDP_KEYDIR, IDP_KIDS } = process.env;
fs.mkdirSync(IDP_KEYDIR, { recursive: true });

function key(kid, alg) {
  const file = path.join(IDP_KEYDIR, `${kid}.json`);
  if (fs.existsSync(file)) return JSON.parse(fs.readFileSync(file, 'utf8'));
  const pair = alg.startsWith('RS')
    ? crypto.generateKeyPairSync('rsa', { modulusLength: 2048 })
    : crypto.generateKeyPairSync('ec', { namedCurve: { ES256: 'P-256', ES384: 'P-384', ES512: 'P-521' }[alg] });
  const jwk = { ...pair.privateKey.export({ format: 'jwk' }), kid, alg, use: 'sig' };
  fs.writeFileSync(file, JSON.stringify(jwk));
  return jwk;
}

const kids = IDP_KIDS.split(',').map((s) => s.split(':'));
const keys = kids.map(([kid, alg]) => key(kid, alg));
const signAlg = kids[0][1];

const provider = new Provider(IDP_ISSUER, {
  clients: [
    {
      client_id: 'mcp-test',
      client_secret: 'mcp-test-secret',
      grant_types: ['client_credentials'],
      redirect_uris: [],
      response_types: [],
      token_endpoint_auth_method: 'client_secret_basic',
      scope: 'mcp:read mcp:write',
      id_token_signed_response_alg: signAlg,
    },
  ],
  jwks: { keys },
  scopes: ['openid', 'offline_access', 'mcp:read', 'mcp:write'],
  features: {
    // The login and consent pages the tests drive over HTTP (authorization code with PKCE).
    devInteractions: { enabled: true },
    clientCredentials: { enabled: true },
    registration: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => undefined,
      useGrantedResource: () => true,
      getResourceServerInfo: (ctx, resource) => ({
        scope: 'mcp:read mcp:write',
        audience: resource,
        accessTokenTTL: 300,
        accessTokenFormat: 'jwt',
        jwt: { sign: { alg: signAlg } },
      }),
    },
  },
});
provider.proxy = true;
provider.listen(Number(IDP_PORT), '0.0.0.0', () => console.log('listening'));
