// The peer of the token-endpoint comparison: panva's oidc-provider (npm, the
// version in tests/node_modules) on 127.0.0.1, one confidential client
// (client_secret_basic, PKCE required, ES256 ID tokens), an unbounded
// in-memory store (its default memory adapter keeps only 1,000 entries).
// It mints --codes authorization codes directly through its own model (as its
// interaction would after a login), writes them with their PKCE verifiers and
// nonces to --out, then serves until SIGTERM (token endpoint: /token).
//   node bench/oidc-peer.mjs --port P --codes K --out FILE
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { parseArgs } from 'node:util';

const NM = path.resolve(import.meta.dirname, '../tests/node_modules');
const { default: Provider } = await import(path.join(NM, 'oidc-provider/lib/index.js'));
const { default: MemoryAdapter } = await import(path.join(NM, 'oidc-provider/lib/adapters/memory_adapter.js'));

const { values } = parseArgs({ options: { port: { type: 'string' }, codes: { type: 'string', default: '1000' }, out: { type: 'string' } } });
const store = new Map(); // unbounded, and no expiry: the run is short
class MapAdapter extends MemoryAdapter { constructor(model) { super(model, store); } }

const CLIENT = { client_id: 'bench', client_secret: 'bench-secret-0123456789abcdef', redirect_uri: 'http://127.0.0.1:9/cb' };
const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
const jwk = { ...privateKey.export({ format: 'jwk' }), alg: 'ES256', use: 'sig', kid: 'k1' };
const issuer = `http://127.0.0.1:${values.port}`;
const provider = new Provider(issuer, {
  clients: [{ client_id: CLIENT.client_id, client_secret: CLIENT.client_secret, redirect_uris: [CLIENT.redirect_uri],
    response_types: ['code'], grant_types: ['authorization_code'], token_endpoint_auth_method: 'client_secret_basic',
    id_token_signed_response_alg: 'ES256' }],
  jwks: { keys: [jwk] },
  claims: { openid: ['sub'], profile: ['given_name', 'family_name'] },
  features: { devInteractions: { enabled: false } },
  adapter: MapAdapter,
  pkce: { required: () => true },
  cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
  async findAccount(ctx, sub) {
    return { accountId: sub, async claims() { return { sub, given_name: 'JAAN', family_name: 'MÄNNIK' }; } };
  },
});
provider.on('server_error', (ctx, err) => process.stderr.write(`server_error ${err.message}\n`));

const client = await provider.Client.find(CLIENT.client_id);
const codes = [];
const n = Number(values.codes);
for (let i = 0; i < n; i++) {
  const sub = `EE3800108571${i % 10}`;
  const grant = new provider.Grant({ accountId: sub, clientId: CLIENT.client_id });
  grant.addOIDCScope('openid profile');
  const grantId = await grant.save();
  const verifier = crypto.randomBytes(32).toString('base64url');
  const challenge = crypto.createHash('sha256').update(verifier).digest('base64url');
  const nonce = crypto.randomBytes(16).toString('base64url'); // as an RP's authorization request would carry
  const code = new provider.AuthorizationCode({
    accountId: sub, client, grantId, scope: 'openid profile', redirectUri: CLIENT.redirect_uri,
    codeChallenge: challenge, codeChallengeMethod: 'S256', nonce,
    authTime: Math.floor(Date.now() / 1000), acr: 'high',
  });
  codes.push({ code: await code.save(), verifier, nonce });
}
const server = http.createServer(provider.callback());
server.keepAliveTimeout = 60000;
server.listen(Number(values.port), '127.0.0.1', () => {
  fs.writeFileSync(values.out, JSON.stringify({ issuer, ...CLIENT, codes }));
  process.stdout.write(`oidc-provider peer listening on ${issuer}\n`);
});
process.on('SIGTERM', () => process.exit(0));
