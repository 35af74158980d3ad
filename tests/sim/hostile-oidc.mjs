// A tiny hostile OpenID Provider (plain node:http, tokens signed with jose)
// for eidhub's "we are a client" tests (SECURITY.md): it speaks the
// authorization code flow well enough (discovery, JWKS, an authorization
// endpoint that answers at once, a token endpoint that checks the client's
// secret and PKCE, userinfo), but the ID token it returns is whatever the
// current mode crafts: alg none, HS256 keyed with its own public key, a bad
// signature, a wrong iss or aud, no sub or iat, a wrong nonce, expired, a
// kid that looks like a path or a query, a key rollover, ...
//
// In-process only:
//   const h = await startHostileOidc({ clientId, clientSecret, redirectUri });
//   h.setMode('alg-none');   h.url, h.requests (["GET /jwks", ...]),
//   h.rotate() (publish and sign with a second key), await h.stop()
// All names and numbers here are test data.
import crypto from 'node:crypto';
import http from 'node:http';
import * as jose from 'jose';
import { closeServer, readBody } from './sim-common.mjs';

export const SUB = 'hostile-sub-5f3c2a';
export const GIVEN_NAME = 'Mallory';

/** Every mode and what its ID token (or answer) is. */
export const MODES = Object.freeze({
  good: 'a valid RS256 ID token (the control case)',
  es256: 'a valid ES256 ID token',
  ps256: 'a valid PS256 ID token',
  'alg-none': 'alg "none", no signature',
  'hs256-public-key': 'HS256 keyed with the provider\'s published public key',
  'bad-signature': 'signed by another key under the provider\'s kid',
  'wrong-iss': 'iss of another provider (otherIssuer)',
  'wrong-aud': 'aud another client',
  'missing-sub': 'no sub',
  'missing-iat': 'no iat',
  'wrong-nonce': 'a nonce of another login',
  expired: 'expired an hour ago',
  'future-iat': 'issued in an hour',
  'kid-path': 'kid "../../etc/passwd"',
  'kid-query': 'kid "?x=1"',
  'unknown-kid': 'kid of no published key',
  rollover: 'signed with the second key (published only after rotate())',
  'low-acr': 'acr mapped to low',
  'no-acr': 'no acr',
  'userinfo-other-sub': 'userinfo about someone else',
  'other-iss-param': 'the authorization response names another issuer (otherIssuer)',
  'omit-iss-param': 'the authorization response has no iss although discovery announces it',
  'token-error': 'the token endpoint answers invalid_grant',
  stall: 'the token endpoint answers after stallMs',
});

/**
 * Starts the hostile provider on 127.0.0.1:port (0: any). otherIssuer is
 * the issuer "wrong-iss" and "other-iss-param" use.
 */
export async function startHostileOidc({
  port = 0, clientId, clientSecret, redirectUri, otherIssuer = 'https://other-provider.example', stallMs = 3000,
}) {
  const server = http.createServer();
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const rsa1 = await jose.generateKeyPair('RS256', { extractable: true });
  const rsa2 = await jose.generateKeyPair('RS256', { extractable: true });
  const ec = await jose.generateKeyPair('ES256', { extractable: true });
  const stranger = await jose.generateKeyPair('RS256', { extractable: true });
  const pub = async (k, kid, alg) => ({ ...(await jose.exportJWK(k.publicKey)), kid, use: 'sig', alg });
  // a JWK's alg binds it: the same RSA key is published once per alg it signs with
  const published = [await pub(rsa1, 'k1', 'RS256'), await pub(rsa1, 'p1', 'PS256'), await pub(ec, 'e1', 'ES256')];
  const second = await pub(rsa2, 'k2', 'RS256');
  const state = { mode: 'good', requests: [], codes: new Map(), tokens: new Map() };

  const json = (res, status, body, headers = {}) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
    res.end(text);
  };

  async function idToken(req) {
    const now = Math.floor(Date.now() / 1000);
    const m = state.mode;
    const claims = {
      iss: m === 'wrong-iss' ? otherIssuer : issuer,
      aud: m === 'wrong-aud' ? 'someone-else' : clientId,
      sub: SUB,
      nonce: m === 'wrong-nonce' ? 'a-nonce-of-another-login' : req.nonce,
      iat: m === 'future-iat' ? now + 3600 : m === 'expired' ? now - 7200 : now,
      exp: m === 'expired' ? now - 3600 : now + 300,
      acr: m === 'low-acr' ? 'h-low' : 'h-high',
    };
    if (m === 'missing-sub') delete claims.sub;
    if (m === 'missing-iat') delete claims.iat;
    if (m === 'no-acr') delete claims.acr;
    if (m === 'alg-none') return new jose.UnsecuredJWT(claims).encode();
    if (m === 'hs256-public-key') {
      const secret = new TextEncoder().encode(JSON.stringify(published[0]));
      return new jose.SignJWT(claims).setProtectedHeader({ alg: 'HS256', kid: 'k1', typ: 'JWT' }).sign(secret);
    }
    const [key, alg, kid] = {
      es256: [ec.privateKey, 'ES256', 'e1'],
      ps256: [rsa1.privateKey, 'PS256', 'p1'],
      'bad-signature': [stranger.privateKey, 'RS256', 'k1'],
      'kid-path': [rsa1.privateKey, 'RS256', '../../etc/passwd'],
      'kid-query': [rsa1.privateKey, 'RS256', '?x=1'],
      'unknown-kid': [rsa1.privateKey, 'RS256', 'k9'],
      rollover: [rsa2.privateKey, 'RS256', 'k2'],
    }[m] ?? [rsa1.privateKey, 'RS256', 'k1'];
    // PS256 with jose needs an RSA-PSS-capable key: the RS256 pair works for both
    const signingKey = alg === 'PS256' ? await jose.importJWK(await jose.exportJWK(rsa1.privateKey), 'PS256') : key;
    return new jose.SignJWT(claims).setProtectedHeader({ alg, kid, typ: 'JWT' }).sign(signingKey);
  }

  async function token(req, res) {
    const form = new URLSearchParams(await readBody(req));
    const auth = req.headers.authorization ?? '';
    const expected = `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64')}`;
    if (auth !== expected) return json(res, 401, { error: 'invalid_client' });
    const pending = state.codes.get(form.get('code'));
    state.codes.delete(form.get('code'));
    if (!pending || form.get('grant_type') !== 'authorization_code' || form.get('redirect_uri') !== pending.redirectUri) {
      return json(res, 400, { error: 'invalid_grant' });
    }
    const challenge = crypto.createHash('sha256').update(form.get('code_verifier') ?? '').digest('base64url');
    if (challenge !== pending.codeChallenge || pending.method !== 'S256') return json(res, 400, { error: 'invalid_grant', error_description: 'PKCE' });
    if (state.mode === 'token-error') return json(res, 400, { error: 'invalid_grant' });
    if (state.mode === 'stall') await new Promise((r) => setTimeout(r, stallMs));
    const accessToken = crypto.randomBytes(24).toString('base64url');
    state.tokens.set(accessToken, state.mode);
    return json(res, 200, { access_token: accessToken, token_type: 'Bearer', expires_in: 60, id_token: await idToken(pending) });
  }

  server.on('request', (req, res) => {
    const url = new URL(req.url, issuer);
    state.requests.push(`${req.method} ${req.url}`);
    const route = `${req.method} ${url.pathname}`;
    (async () => {
      if (route === 'GET /.well-known/openid-configuration') {
        return json(res, 200, {
          issuer, authorization_endpoint: `${issuer}/authorize`, token_endpoint: `${issuer}/token`,
          userinfo_endpoint: `${issuer}/userinfo`, jwks_uri: `${issuer}/jwks`, response_types_supported: ['code'],
          subject_types_supported: ['public'], id_token_signing_alg_values_supported: ['RS256', 'ES256', 'PS256'],
          code_challenge_methods_supported: ['S256'], authorization_response_iss_parameter_supported: true,
        });
      }
      if (route === 'GET /jwks') return json(res, 200, { keys: state.rotated ? [...published, second] : published });
      if (route === 'GET /authorize') {
        const p = url.searchParams;
        const code = crypto.randomBytes(16).toString('base64url');
        state.codes.set(code, {
          nonce: p.get('nonce'), redirectUri: p.get('redirect_uri'), codeChallenge: p.get('code_challenge'),
          method: p.get('code_challenge_method'), acrValues: p.get('acr_values'),
        });
        state.lastAuthorize = Object.fromEntries(p);
        const back = new URL(p.get('redirect_uri') === redirectUri ? redirectUri : 'http://127.0.0.1:9/refused');
        back.searchParams.set('code', code);
        back.searchParams.set('state', p.get('state') ?? '');
        if (state.mode === 'other-iss-param') back.searchParams.set('iss', otherIssuer);
        else if (state.mode !== 'omit-iss-param') back.searchParams.set('iss', issuer);
        res.writeHead(303, { location: back.href });
        return res.end();
      }
      if (route === 'POST /token') return token(req, res);
      if (route === 'GET /userinfo') {
        const at = (req.headers.authorization ?? '').replace(/^Bearer /, '');
        const mode = state.tokens.get(at);
        if (mode === undefined) return json(res, 401, { error: 'invalid_token' });
        return json(res, 200, { sub: mode === 'userinfo-other-sub' ? 'someone-else' : SUB, given_name: GIVEN_NAME, family_name: 'Hostile' });
      }
      res.writeHead(404);
      return res.end();
    })().catch((e) => {
      if (!res.headersSent) res.writeHead(500);
      res.end(String(e.message));
    });
  });
  return {
    url: issuer, issuer, port: server.address().port, requests: state.requests,
    get lastAuthorize() { return state.lastAuthorize; },
    setMode(mode) {
      if (!(mode in MODES)) throw new Error(`unknown mode ${mode}`);
      state.mode = mode;
    },
    rotate() { state.rotated = true; },
    stop: () => closeServer(server),
  };
}
