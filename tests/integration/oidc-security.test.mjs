// Hostile input against the OpenID Connect provider and the Mobile-ID
// backend, one test (or one table of cases) per item of SECURITY.md's
// sections "OpenID Connect (we are the provider)", "Mobile-ID and Smart-ID"
// and "Store and HTTP" that applies to what exists now. Real nginx with the
// module, real Redis and the Mobile-ID simulator (no delay), started by the
// harness. Upstream calls are counted in the simulator's own log, between two
// marker requests sent to it directly (see SimLog).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import * as jose from 'jose';
import * as oidc from 'openid-client';
import { Agent, elementText, hiddenField } from '../lib/agent.mjs';
import { mobileIdSettings, startBroker, startMobileIdSim, startRedis } from '../lib/harness.mjs';
import { authorize, login } from '../lib/oidc-flow.mjs';
import { CITIZENS, DEMO_RP_NAME, DEMO_RP_UUID, citizenByOutcome } from '../sim/mobile-id.mjs';
import { makePersonalCode } from '../sim/test-ca.mjs';

const SECRET = 'portal-secret-' + crypto.randomBytes(8).toString('hex');
const TAX_SECRET = 'tax-secret-' + crypto.randomBytes(8).toString('hex');
const sha256hex = (s) => crypto.createHash('sha256').update(s).digest('hex');
const CB = 'http://127.0.0.1:9/callback';
const CB2 = 'http://127.0.0.1:9/callback2';
const TAX_CB = 'http://127.0.0.1:9/tax';
const PUBLIC_CB = 'http://127.0.0.1:9/public-callback';
const SIGNED_CB = 'http://127.0.0.1:9/signed';
const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const ASSERTION_MAX_LIFETIME_S = 300; // EH_CLIENT_ASSERTION_MAX_LIFETIME_S
// The private_key_jwt client's keys: an EC P-256 key and an RSA key, both
// registered (public halves only), and a stranger's key under no registration.
const SIGNED_EC = await jose.generateKeyPair('ES256', { extractable: true });
const SIGNED_RSA = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }); // KeyObjects: RS256 and PS256
const STRANGER = await jose.generateKeyPair('ES256', { extractable: true });
const SIGNED_EC_JWK = { ...(await jose.exportJWK(SIGNED_EC.publicKey)), kid: 'ec-1', use: 'sig' };
const SIGNED_RSA_JWK = { ...(await jose.exportJWK(SIGNED_RSA.publicKey)), kid: 'rsa-1' };
const CODE_TTL_S = 30; // EH_OIDC_CODE_TTL_S
const ID_TOKEN_TTL_S = 300; // EH_OIDC_ID_TOKEN_TTL_S
const STORE_TIMEOUT_MS = 1000;

const RELYING_PARTIES = [
  { client_id: 'portal', client_secret_sha256: sha256hex(SECRET), redirect_uris: [CB, CB2],
    display_name: { en: 'City portal', et: 'Linnaportaal' }, policy: 'basic', subject_type: 'pairwise' },
  { client_id: 'tax', client_secret_sha256: sha256hex(TAX_SECRET), redirect_uris: [TAX_CB],
    display_name: 'Tax office', policy: 'full', subject_type: 'public' },
  { client_id: 'public-app', redirect_uris: [PUBLIC_CB], display_name: 'Library', policy: 'basic' },
  { client_id: 'signed', token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [SIGNED_EC_JWK, SIGNED_RSA_JWK] },
    redirect_uris: [SIGNED_CB], display_name: 'Signed portal', policy: 'basic', subject_type: 'public' },
];

let redis, sim, broker, simLog;
let expiring; // a code obtained first, redeemed after it expired (see the expiry test)

before(async () => {
  [redis, sim] = await Promise.all([startRedis(), startMobileIdSim({ delayMs: 0 })]);
  broker = await startBroker({
    store: redis.url,
    workers: 1,
    timeoutMs: STORE_TIMEOUT_MS,
    broker: {
      relying_parties: RELYING_PARTIES,
      backends: {
        mobile_id: mobileIdSettings(sim, {
          rate_limit: { per_person: 1000, per_phone: 1000, per_client_address: 100000, window_seconds: 60 },
        }),
      },
    },
  });
  simLog = new SimLog(sim);
  expiring = await portalLogin();
  expiring.issuedAt = Date.now();
});
after(async () => { await broker?.stop(); await sim?.stop(); await redis?.stop(); });

// ---------------------------------------------------------------------------
// helpers

/** A Mobile-ID login of citizen (OK_EC unless told) at the portal; returns login()'s result plus the code. */
async function portalLogin(options = {}, citizen = citizenByOutcome('OK_EC'), at = broker) {
  const r = await login(at.url, { clientId: 'portal', secret: SECRET, redirectUri: CB, ...options }, citizen);
  const redirectUri = options.redirectUri ?? CB;
  assert.equal(r.callback.origin + r.callback.pathname, redirectUri);
  return { ...r, code: r.callback.searchParams.get('code') };
}

/** The Basic authorization header value of RFC 6749 section 2.3.1. */
function basic(id, secret) {
  return 'Basic ' + Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64');
}

/** POST /token. params: form fields (or body: raw), auth: [id, secret] for Basic. */
async function tokenRequest(params, { auth, headers = {}, body } = {}) {
  const h = { 'content-type': 'application/x-www-form-urlencoded', ...headers };
  for (const k of Object.keys(h)) if (h[k] === undefined) delete h[k];
  if (auth) h.authorization = basic(...auth);
  const res = await fetch(`${broker.url}/token`, { method: 'POST', headers: h, body: body ?? new URLSearchParams(params).toString() });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, headers: res.headers, text, json };
}

/** The token request a portal login's code is redeemed with. */
function redemption(flow, overrides = {}) {
  const p = { grant_type: 'authorization_code', code: flow.code, redirect_uri: CB, code_verifier: flow.verifier, ...overrides };
  for (const k of Object.keys(p)) if (p[k] === undefined) delete p[k];
  return p;
}

function assertTokenError(r, status, error) {
  assert.equal(r.status, status, r.text);
  assert.match(r.headers.get('content-type') ?? '', /^application\/json/);
  assert.equal(r.json?.error, error, r.text);
  assert.equal(r.json.access_token, undefined);
  assert.equal(r.json.id_token, undefined);
}

/**
 * A client assertion (RFC 7523) of the private_key_jwt client "signed":
 * signed with key (its EC key by default) as alg with header kid (null: no
 * kid); claims are merged over valid ones (undefined removes a claim).
 */
async function signedAssertion({ key = SIGNED_EC.privateKey, alg = 'ES256', kid = 'ec-1', claims = {} } = {}) {
  const now = Math.floor(Date.now() / 1000);
  const payload = { iss: 'signed', sub: 'signed', aud: `${broker.url}/token`, jti: crypto.randomUUID(), iat: now, exp: now + 60, ...claims };
  for (const k of Object.keys(payload)) if (payload[k] === undefined) delete payload[k];
  return new jose.SignJWT(payload).setProtectedHeader({ alg, ...(kid ? { kid } : {}) }).sign(key);
}

/** A JWS of header and payload signed (ES256) with the client's EC key, byte for byte as given (jose would refuse a crit it does not know). */
function rawSigned(header, payload) {
  const input = `${jose.base64url.encode(JSON.stringify(header))}.${jose.base64url.encode(JSON.stringify(payload))}`;
  const sig = crypto.sign('sha256', Buffer.from(input), { key: crypto.KeyObject.from(SIGNED_EC.privateKey), dsaEncoding: 'ieee-p1363' });
  return `${input}.${jose.base64url.encode(sig)}`;
}

/** An unsigned JWT (alg none) with valid claims of "signed", changed by claims. */
function unsignedAssertion(claims = {}) {
  const now = Math.floor(Date.now() / 1000);
  const payload = { iss: 'signed', sub: 'signed', aud: `${broker.url}/token`, jti: crypto.randomUUID(), exp: now + 60, ...claims };
  return `${jose.base64url.encode(JSON.stringify({ alg: 'none' }))}.${jose.base64url.encode(JSON.stringify(payload))}.`;
}

/** A login of the private_key_jwt client "signed" with openid-client (PrivateKeyJwt with its EC key). */
async function signedLogin(citizen = citizenByOutcome('OK_EC')) {
  const config = await oidc.discovery(new URL(broker.url), 'signed', undefined,
    oidc.PrivateKeyJwt({ key: SIGNED_EC.privateKey, kid: 'ec-1' }), { execute: [oidc.allowInsecureRequests] });
  const r = await login(broker.url, { clientId: 'signed', redirectUri: SIGNED_CB, config }, citizen);
  assert.equal(r.callback.origin + r.callback.pathname, SIGNED_CB);
  return { ...r, code: r.callback.searchParams.get('code') };
}

/** The token request that redeems a login of "signed", authenticated with assertion (a JWT text). */
function signedRedemption(flow, assertion, overrides = {}) {
  const p = { grant_type: 'authorization_code', code: flow.code, redirect_uri: SIGNED_CB, code_verifier: flow.verifier,
    client_assertion_type: JWT_BEARER, client_assertion: assertion, ...overrides };
  for (const k of Object.keys(p)) if (p[k] === undefined) delete p[k];
  return p;
}

/** GET /userinfo with the access token (or none). */
async function userinfo(token) {
  const res = await fetch(`${broker.url}/userinfo`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

/** A raw authorization request URL; pairs are [name, value] (repeats allowed), values percent-encoded. */
function authorizeUrl(pairs) {
  return `${broker.url}/authorize?` + pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
}

/** The pairs of a valid authorization request of the portal (PKCE S256). */
function goodPairs({ clientId = 'portal', redirectUri = CB, state = 'st-1' } = {}) {
  return [['client_id', clientId], ['redirect_uri', redirectUri], ['response_type', 'code'], ['scope', 'openid profile'],
    ['state', state], ['nonce', 'n-1'], ['code_challenge', 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM'],
    ['code_challenge_method', 'S256']];
}

/** pairs with name replaced by value (dropped when value is undefined). */
function withParam(pairs, name, value) {
  const out = pairs.filter(([k]) => k !== name);
  if (value !== undefined) out.push([name, value]);
  return out;
}

/** One HTTP/1.1 request written byte for byte; returns {status, head, body}. */
function rawRequest(port, text) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let failure = null;
    const s = net.connect(port, '127.0.0.1', () => s.end(text));
    s.on('data', (c) => chunks.push(c));
    s.on('error', (e) => { failure = e; }); // e.g. EPIPE after an early 413: the answer counts
    s.on('close', () => {
      if (!chunks.length) return reject(failure ?? new Error('no answer'));
      const all = Buffer.concat(chunks).toString('latin1');
      const i = all.indexOf('\r\n\r\n');
      const head = i < 0 ? all : all.slice(0, i);
      resolve({ status: Number(head.split(' ')[1]), head, body: i < 0 ? '' : all.slice(i + 4) });
    });
  });
}

/** A browser at the Mobile-ID form of a new portal login; returns {agent, csrf}. */
async function atMidForm(at = broker, options = {}) {
  const { agent, first } = await authorize(at.url, { clientId: 'portal', secret: SECRET, redirectUri: CB, ...options });
  assert.equal(first.status, 303, first.text);
  const form = await agent.get('/auth/mid');
  assert.equal(form.status, 200);
  return { agent, csrf: hiddenField(form.text, 'csrf') };
}

/**
 * The simulator's log (stderr, piped to sim.log by the harness). To see what
 * reached the simulator while fn ran, a marker request goes to it directly
 * before and after; the simulator handles requests one at a time and logs
 * each before answering, so a call the broker made while answering fn's
 * requests lies between the two markers.
 */
class SimLog {
  constructor(s) { this.sim = s; this.file = path.join(s.dir, 'sim.log'); this.n = 0; }

  text() { return fs.readFileSync(this.file, 'utf8'); }

  /** Sends a marker and returns the log's offset just after it. */
  async mark() {
    const phone = `+3729${String(++this.n).padStart(7, '0')}`;
    const res = await fetch(`${this.sim.url}/certificate`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ relyingPartyUUID: DEMO_RP_UUID, relyingPartyName: DEMO_RP_NAME, phoneNumber: phone, nationalIdentityNumber: '00000000000' }),
    });
    assert.equal(res.status, 200);
    await res.text();
    const needle = `certificate: ${phone} `;
    for (let i = 0; i < 200; i++) {
      const t = this.text();
      const at = t.indexOf(needle);
      if (at >= 0) return t.indexOf('\n', at) + 1;
      await sleep(10);
    }
    throw new Error('the simulator did not log the marker');
  }

  /** Runs fn; returns [fn's result, the "authentication" (session start) lines logged meanwhile]. */
  async during(fn) {
    const from = await this.mark();
    const result = await fn();
    const to = await this.mark();
    const lines = this.text().slice(from, to).split('\n').filter((l) => l.includes('] authentication '));
    return [result, lines];
  }
}

// ---------------------------------------------------------------------------
// OpenID Connect (we are the provider)

describe('authorization request: redirect_uri not byte-equal to a registered one → error page, no redirect', () => {
  const cases = [
    ['trailing slash', { redirectUri: `${CB}/` }],
    ['path case', { redirectUri: 'http://127.0.0.1:9/Callback' }],
    ['scheme case', { redirectUri: 'HTTP://127.0.0.1:9/callback' }],
    ['percent-encoded path', { redirectUri: 'http://127.0.0.1:9/%63allback' }],
    ['extra query', { redirectUri: `${CB}?x=1` }],
    ['fragment', { redirectUri: `${CB}#frag` }],
    ['empty fragment', { redirectUri: `${CB}#` }],
    ['userinfo part', { redirectUri: 'http://user@127.0.0.1:9/callback' }],
    ['different port', { redirectUri: 'http://127.0.0.1:10/callback' }],
    ['default port spelled out', { redirectUri: 'http://127.0.0.1:80/callback' }],
    ['trailing space', { redirectUri: `${CB} ` }],
    ['NUL byte', { redirectUri: `${CB}\0` }],
    ['unregistered host', { redirectUri: 'https://evil.example/callback' }],
    // SECURITY.md: "Return addresses like ///evil, /\evil, http:evil → rejected"
    ['return address ///evil', { redirectUri: '///evil.example/callback' }],
    ['return address /\\evil', { redirectUri: '/\\evil.example/callback' }],
    ['return address http:evil', { redirectUri: 'http:evil.example/callback' }],
    ['registered to another client', { redirectUri: TAX_CB }],
    ['missing redirect_uri', { redirectUri: null }],
    ['unknown client_id', { clientId: 'nobody' }],
    ['client_id in another case', { clientId: 'Portal' }],
    ['missing client_id', { clientId: null }],
  ];
  for (const [name, { clientId = 'portal', redirectUri = CB }] of cases) {
    test(name, async () => {
      let pairs = withParam(goodPairs(), 'client_id', clientId ?? undefined); // null: left out
      pairs = withParam(pairs, 'redirect_uri', redirectUri ?? undefined);
      await assertErrorPage(await new Agent(broker.url).get(authorizeUrl(pairs)));
    });
  }

  for (const name of ['client_id', 'redirect_uri', 'state', 'response_type']) {
    test(`repeated parameter: ${name} twice`, async () => {
      const pairs = goodPairs();
      pairs.push(pairs.find(([k]) => k === name));
      await assertErrorPage(await new Agent(broker.url).get(authorizeUrl(pairs)));
    });
  }

  test('client_id twice with different values', async () => {
    const pairs = [...goodPairs(), ['client_id', 'tax']];
    await assertErrorPage(await new Agent(broker.url).get(authorizeUrl(pairs)));
  });

  test('the same checks hold for POST /authorize', async () => {
    const pairs = withParam(goodPairs(), 'redirect_uri', `${CB}/`);
    const r = await new Agent(broker.url).post('/authorize', Object.fromEntries(pairs));
    await assertErrorPage(r);
  });

  test('positive control: the unaltered request is accepted', async () => {
    const r = await new Agent(broker.url).get(authorizeUrl(goodPairs()));
    assert.equal(r.status, 303);
    assert.equal(new URL(r.location).pathname, '/login');
  });

  async function assertErrorPage(r) {
    assert.equal(r.status, 400, r.text);
    assert.match(r.headers.get('content-type') ?? '', /^text\/html/);
    assert.equal(r.headers.get('location'), null, 'no redirect anywhere');
    assert.match(r.text, /The login request is not valid\./);
    assert.equal(r.headers.getSetCookie().length, 0, 'no transaction was started');
  }
});

describe('authorization request: errors after the redirect_uri is verified go to that URI with error, state and iss', () => {
  const cases = [
    ['response_type=token', (p) => withParam(p, 'response_type', 'token'), 'unsupported_response_type'],
    ['response_type=code id_token', (p) => withParam(p, 'response_type', 'code id_token'), 'unsupported_response_type'],
    ['missing response_type', (p) => withParam(p, 'response_type', undefined), 'unsupported_response_type'],
    ['missing openid scope', (p) => withParam(p, 'scope', 'profile'), 'invalid_scope'],
    ['openid only as a substring of the scope', (p) => withParam(p, 'scope', 'openidx profile'), 'invalid_scope'],
    ['code_challenge_method=plain', (p) => withParam(withParam(p, 'code_challenge_method', 'plain'), 'code_challenge', 'a'.repeat(43)), 'invalid_request'],
    ['malformed code_challenge (too short)', (p) => withParam(p, 'code_challenge', 'abc'), 'invalid_request'],
    ['malformed code_challenge (not base64url)', (p) => withParam(p, 'code_challenge', `${'a'.repeat(42)}=`), 'invalid_request'],
    ['code_challenge without a method', (p) => withParam(p, 'code_challenge_method', undefined), 'invalid_request'],
    ['public client without PKCE', (p) => withParam(withParam(withParam(withParam(p, 'client_id', 'public-app'), 'redirect_uri', PUBLIC_CB), 'code_challenge', undefined), 'code_challenge_method', undefined), 'invalid_request', PUBLIC_CB],
    ['prompt=none (no session exists)', (p) => withParam(p, 'prompt', 'none'), 'login_required'],
    ['prompt=none with another value', (p) => withParam(p, 'prompt', 'none login'), 'invalid_request'],
    ['unknown acr_values', (p) => withParam(p, 'acr_values', 'urn:example:loa:ultra'), 'invalid_request'],
    ['request= (request object)', (p) => withParam(p, 'request', 'eyJhbGciOiJub25lIn0.eyJyZWRpcmVjdF91cmkiOiJodHRwczovL2V2aWwuZXhhbXBsZSJ9.'), 'request_not_supported'],
    ['request_uri=', (p) => withParam(p, 'request_uri', 'https://evil.example/request.jwt'), 'request_uri_not_supported'],
    ['response_mode=fragment', (p) => withParam(p, 'response_mode', 'fragment'), 'invalid_request'],
    ['max_age not a number', (p) => withParam(p, 'max_age', '1e3'), 'invalid_request'],
  ];
  for (const [name, change, error, target = CB] of cases) {
    test(name, async () => {
      const state = `s-${crypto.randomBytes(4).toString('hex')}`;
      const r = await new Agent(broker.url).get(authorizeUrl(change(goodPairs({ state }))));
      assert.equal(r.status, 303, r.text);
      const back = new URL(r.location);
      assert.equal(back.origin + back.pathname, target, 'only to the registered URI');
      assert.equal(back.searchParams.get('error'), error);
      assert.equal(back.searchParams.get('state'), state);
      assert.equal(back.searchParams.get('iss'), broker.url);
      assert.equal(back.searchParams.get('code'), null);
      assert.equal(r.headers.getSetCookie().length, 0, 'no transaction was started');
    });
  }
});

describe('the login form and cancel without their CSRF binding → 403, nothing started', () => {
  const citizen = citizenByOutcome('OK_EC');
  // each case: the form body (without phone and personal code) and a query string
  const cases = [
    ['no csrf field', () => ['']],
    ['an empty csrf', () => ['csrf=']],
    ['a wrong csrf', (csrf) => [`csrf=${csrf.slice(0, -2)}${csrf.endsWith('AA') ? 'BB' : 'AA'}`]],
    ['a csrf with a suffix', (csrf) => [`csrf=${csrf}x`]],
    ['csrf twice', (csrf) => [`csrf=${csrf}&csrf=${csrf}`]],
    ['csrf only in the query string', (csrf) => ['', `?csrf=${csrf}`]],
    ['the csrf of another browser\'s transaction', (_, other) => [`csrf=${other}`]],
  ];
  for (const [name, make] of cases) {
    test(`POST /auth/mid with ${name}`, async () => {
      const { agent, csrf } = await atMidForm();
      const other = (await atMidForm()).csrf;
      const [fields, query = ''] = make(csrf, other);
      const body = [fields, `phone=${encodeURIComponent(citizen.phone)}`, `personal_code=${citizen.personalCode}`].filter(Boolean).join('&');
      const [r, calls] = await simLog.during(async () => {
        const res = await fetch(`${broker.url}/auth/mid${query}`, {
          method: 'POST', redirect: 'manual', body,
          headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: agent.cookieHeader() },
        });
        return { status: res.status, location: res.headers.get('location'), text: await res.text() };
      });
      assert.equal(r.status, 403, r.text);
      assert.equal(r.location, null);
      assert.match(r.text, /This form has expired/);
      assert.deepEqual(calls, [], 'no Mobile-ID session was started upstream');
      // the transaction holds no session either: the wait page sends back to the form
      const wait = await agent.get('/auth/mid/wait');
      assert.equal(wait.status, 303);
      assert.equal(new URL(wait.location).pathname, '/auth/mid');
    });
  }

  test('positive control: with the right csrf the session starts upstream', async () => {
    const { agent, csrf } = await atMidForm();
    const [r, calls] = await simLog.during(() => agent.post('/auth/mid', { csrf, phone: citizen.phone, personal_code: citizen.personalCode }));
    assert.equal(r.status, 303, r.text);
    assert.equal(calls.length, 1);
    assert.ok(calls[0].includes(citizen.personalCode));
  });

  for (const [name, form] of [['without csrf', {}], ['with a wrong csrf', { csrf: 'x'.repeat(43) }]]) {
    test(`cancel ${name} → 403, the login goes on`, async () => {
      const { agent } = await atMidForm();
      const r = await agent.post('/cancel', form);
      assert.equal(r.status, 403, r.text);
      assert.equal(r.location, null, 'no access_denied sent to the relying party');
      assert.match(r.text, /This form has expired/);
      const still = await agent.get('/login');
      assert.equal(still.status, 200, 'the transaction is still there');
    });
  }
});

describe('token endpoint', () => {
  test('a code used twice: the second use is invalid_grant and the first use\'s access token is revoked', async () => {
    const flow = await portalLogin();
    const tokens = await oidc.authorizationCodeGrant(flow.config, flow.callback, {
      pkceCodeVerifier: flow.verifier, expectedState: flow.state, expectedNonce: flow.nonce,
    });
    const ok = await userinfo(tokens.access_token);
    assert.equal(ok.status, 200, 'positive control: the access token works');
    const again = await tokenRequest(redemption(flow), { auth: ['portal', SECRET] });
    assertTokenError(again, 400, 'invalid_grant');
    const revoked = await userinfo(tokens.access_token);
    assert.equal(revoked.status, 401, revoked.text);
    assert.match(revoked.headers.get('www-authenticate') ?? '', /^Bearer .*error="invalid_token"/);
  });

  test('a code redeemed by another (authenticated) client → invalid_grant', async () => {
    const flow = await portalLogin();
    const r = await tokenRequest(redemption(flow), { auth: ['tax', TAX_SECRET] });
    assertTokenError(r, 400, 'invalid_grant');
    const flow2 = await portalLogin();
    const r2 = await tokenRequest({ ...redemption(flow2), client_id: 'public-app' });
    assertTokenError(r2, 400, 'invalid_grant');
  });

  test('a code redeemed with another (also registered) redirect_uri → invalid_grant', async () => {
    const flow = await portalLogin();
    const r = await tokenRequest(redemption(flow, { redirect_uri: CB2 }), { auth: ['portal', SECRET] });
    assertTokenError(r, 400, 'invalid_grant');
  });

  test('PKCE: a wrong code_verifier → invalid_grant', async () => {
    const flow = await portalLogin();
    const r = await tokenRequest(redemption(flow, { code_verifier: oidc.randomPKCECodeVerifier() }), { auth: ['portal', SECRET] });
    assertTokenError(r, 400, 'invalid_grant');
  });

  test('PKCE: a missing code_verifier → invalid_grant', async () => {
    const flow = await portalLogin();
    const r = await tokenRequest(redemption(flow, { code_verifier: undefined }), { auth: ['portal', SECRET] });
    assertTokenError(r, 400, 'invalid_grant');
  });

  test('PKCE: a code_verifier for a code issued without a challenge → invalid_grant', async () => {
    const control = await portalLogin({ pkce: false });
    const ok = await tokenRequest(redemption(control, { code_verifier: undefined }), { auth: ['portal', SECRET] });
    assert.equal(ok.status, 200, `positive control: a confidential client may skip PKCE: ${ok.text}`);
    const flow = await portalLogin({ pkce: false });
    const r = await tokenRequest(redemption(flow, { code_verifier: oidc.randomPKCECodeVerifier() }), { auth: ['portal', SECRET] });
    assertTokenError(r, 400, 'invalid_grant');
  });

  test('client authentication failures → 401 invalid_client (with the Basic challenge when Basic was used)', async () => {
    const flow = await portalLogin();
    const cases = [
      ['wrong secret, Basic', {}, { auth: ['portal', `${SECRET}x`] }, true],
      ['wrong secret, client_secret_post', { client_id: 'portal', client_secret: `${SECRET}x` }, {}, false],
      ['empty secret, Basic', {}, { auth: ['portal', ''] }, true],
      ['unknown client, Basic', {}, { auth: ['nobody', SECRET] }, true],
      ['unknown client, client_secret_post', { client_id: 'nobody', client_secret: SECRET }, {}, false],
      ['confidential client without a secret', { client_id: 'portal' }, {}, false],
      ['no client at all', {}, {}, false],
      ['a public client presenting a secret', { client_id: 'public-app', client_secret: 'guess' }, {}, false],
      ['a secret client presenting a client assertion with alg none', {
        client_id: 'portal', client_assertion_type: JWT_BEARER,
        client_assertion: unsignedAssertion({ iss: 'portal', sub: 'portal' }),
      }, {}, false],
      ['a secret client presenting a validly signed client assertion (of another client\'s key)', {
        client_id: 'portal', client_assertion_type: JWT_BEARER,
        client_assertion: await signedAssertion({ claims: { iss: 'portal', sub: 'portal' } }),
      }, {}, false],
    ];
    for (const [name, extra, opts, challenge] of cases) {
      const r = await tokenRequest({ ...redemption(flow), ...extra }, opts);
      assertTokenError(r, 401, 'invalid_client');
      if (challenge) assert.match(r.headers.get('www-authenticate') ?? '', /^Basic /, name);
    }
    // none of those attempts spent the code: the real client still gets its tokens
    const ok = await tokenRequest(redemption(flow), { auth: ['portal', SECRET] });
    assert.equal(ok.status, 200, ok.text);
  });

  test('malformed token requests → invalid_request / unsupported_grant_type', async () => {
    const flow = await portalLogin();
    const good = redemption(flow);
    const form = new URLSearchParams(good).toString();
    const cases = [
      ['Basic and client_secret_post at once', { ...good, client_id: 'portal', client_secret: SECRET }, { auth: ['portal', SECRET] }, 400, 'invalid_request'],
      ['Basic with another client_id in the body', { ...good, client_id: 'tax' }, { auth: ['portal', SECRET] }, 400, 'invalid_request'],
      ['Content-Type application/json', null, { auth: ['portal', SECRET], headers: { 'content-type': 'application/json' }, body: JSON.stringify(good) }, 400, 'invalid_request'],
      ['Content-Type text/plain', null, { auth: ['portal', SECRET], headers: { 'content-type': 'text/plain' }, body: form }, 400, 'invalid_request'],
      ['Content-Type multipart/form-data', null, { auth: ['portal', SECRET], headers: { 'content-type': 'multipart/form-data; boundary=x' }, body: form }, 400, 'invalid_request'],
      ['no Content-Type', null, { auth: ['portal', SECRET], headers: { 'content-type': undefined }, body: Buffer.from(form) }, 400, 'invalid_request'],
      ['grant_type=password', { ...good, grant_type: 'password', username: 'u', password: 'p' }, { auth: ['portal', SECRET] }, 400, 'unsupported_grant_type'],
      ['grant_type=client_credentials', { ...good, grant_type: 'client_credentials' }, { auth: ['portal', SECRET] }, 400, 'unsupported_grant_type'],
      ['grant_type=refresh_token', { ...good, grant_type: 'refresh_token', refresh_token: 'x' }, { auth: ['portal', SECRET] }, 400, 'unsupported_grant_type'],
      ['no grant_type', { ...good, grant_type: undefined }, { auth: ['portal', SECRET] }, 400, /^(invalid_request|unsupported_grant_type)$/],
      ['code twice', null, { auth: ['portal', SECRET], body: `${form}&code=${encodeURIComponent(flow.code)}` }, 400, 'invalid_request'],
    ];
    for (const [name, params, opts, status, error] of cases) {
      if (params) for (const k of Object.keys(params)) if (params[k] === undefined) delete params[k];
      const r = await tokenRequest(params, opts);
      assert.equal(r.status, status, `${name}: ${r.text}`);
      if (error instanceof RegExp) assert.match(r.json?.error ?? '', error, name);
      else assert.equal(r.json?.error, error, name);
    }
    // the code survived every malformed request
    const ok = await tokenRequest(good, { auth: ['portal', SECRET] });
    assert.equal(ok.status, 200, ok.text);
  });

  test('fifty parallel redemptions of one code → exactly one succeeds', async () => {
    const flow = await portalLogin();
    const all = await Promise.all(Array.from({ length: 50 }, () => tokenRequest(redemption(flow), { auth: ['portal', SECRET] })));
    const statuses = all.map((r) => r.status);
    assert.equal(statuses.filter((s) => s === 200).length, 1, `statuses: ${statuses.join(',')}`);
    for (const r of all.filter((x) => x.status !== 200)) assertTokenError(r, 400, 'invalid_grant');
  });
});

describe('private_key_jwt client authentication (RFC 7523)', () => {
  test('discovery offers private_key_jwt with RS256, PS256 and ES256', async () => {
    const doc = await (await fetch(`${broker.url}/.well-known/openid-configuration`)).json();
    assert.deepEqual(doc.token_endpoint_auth_methods_supported, ['client_secret_basic', 'client_secret_post', 'private_key_jwt']);
    assert.deepEqual(doc.token_endpoint_auth_signing_alg_values_supported, ['RS256', 'PS256', 'ES256']);
  });

  test('openid-client (PrivateKeyJwt, aud = issuer) logs in and redeems the code; userinfo works', async () => {
    const flow = await signedLogin();
    const tokens = await oidc.authorizationCodeGrant(flow.config, flow.callback, {
      pkceCodeVerifier: flow.verifier, expectedState: flow.state, expectedNonce: flow.nonce,
    });
    const claims = tokens.claims();
    assert.equal(claims.aud, 'signed');
    assert.equal(claims.iss, broker.url);
    const info = await userinfo(tokens.access_token);
    assert.equal(info.status, 200, info.text);
    assert.equal(JSON.parse(info.text).sub, claims.sub);
  });

  test('assertions with aud = the token endpoint, RS256 and PS256 with the RSA key, and no client_id parameter are accepted', async () => {
    const variants = [
      ['ES256, aud token endpoint', {}, {}],
      ['RS256 with the RSA key', { key: SIGNED_RSA.privateKey, alg: 'RS256', kid: 'rsa-1' }, {}],
      ['PS256 with the RSA key, aud an array', { key: SIGNED_RSA.privateKey, alg: 'PS256', kid: 'rsa-1', claims: { aud: ['https://other.example', broker.url] } }, {}],
      ['ES256 without kid, client_id named only by sub', { kid: null }, { client_id: undefined }],
    ];
    for (const [name, opts, overrides] of variants) {
      const flow = await signedLogin();
      const r = await tokenRequest(signedRedemption(flow, await signedAssertion(opts), { client_id: 'signed', ...overrides }));
      assert.equal(r.status, 200, `${name}: ${r.text}`);
      assert.ok(r.json.id_token, name);
    }
  });

  test('bad assertions → 401 invalid_client; the code is not spent and the client then redeems it', async () => {
    const flow = await signedLogin();
    const now = Math.floor(Date.now() / 1000);
    const hsWith = (secret) => new jose.SignJWT({ iss: 'signed', sub: 'signed', aud: `${broker.url}/token`, jti: crypto.randomUUID(), exp: now + 60 })
      .setProtectedHeader({ alg: 'HS256', kid: 'ec-1' }).sign(new TextEncoder().encode(secret));
    const cases = [
      ['alg none', unsignedAssertion()],
      ['HS256 keyed with the client\'s public JWK', await hsWith(JSON.stringify(SIGNED_EC_JWK))],
      ['HS256 keyed with the client_id', await hsWith('signed')],
      ['signed by a stranger\'s key under the client\'s kid', await signedAssertion({ key: STRANGER.privateKey })],
      ['signed by a stranger\'s key without kid', await signedAssertion({ key: STRANGER.privateKey, kid: null })],
      ['the EC key under the RSA key\'s kid', await signedAssertion({ kid: 'rsa-1' })],
      ['an unknown kid', await signedAssertion({ kid: 'ec-2' })],
      ['a kid that looks like a path', await signedAssertion({ kid: '../../../etc/passwd' })],
      ['wrong aud', await signedAssertion({ claims: { aud: 'https://evil.example/token' } })],
      ['aud the token endpoint with a trailing slash', await signedAssertion({ claims: { aud: `${broker.url}/token/` } })],
      ['no aud', await signedAssertion({ claims: { aud: undefined } })],
      ['iss another client', await signedAssertion({ claims: { iss: 'portal' } })],
      ['sub another client', await signedAssertion({ claims: { sub: 'portal' } })],
      ['expired', await signedAssertion({ claims: { iat: now - 400, exp: now - 120 } })],
      ['too long-lived (exp in an hour)', await signedAssertion({ claims: { exp: now + 3600 } })],
      [`lifetime over ${ASSERTION_MAX_LIFETIME_S} s (iat to exp)`, await signedAssertion({ claims: { iat: now - 200, exp: now + 200 } })],
      ['no exp', await signedAssertion({ claims: { exp: undefined } })],
      ['iat in the future', await signedAssertion({ claims: { iat: now + 600, exp: now + 650 } })],
      ['nbf in the future', await signedAssertion({ claims: { nbf: now + 600 } })],
      ['no jti', await signedAssertion({ claims: { jti: undefined } })],
      ['a crit header (validly signed)', rawSigned({ alg: 'ES256', kid: 'ec-1', crit: ['urn:x'], 'urn:x': 1 },
        { iss: 'signed', sub: 'signed', aud: `${broker.url}/token`, jti: crypto.randomUUID(), exp: now + 60 })],
      ['garbage', 'not-a-jwt'],
    ];
    assert.equal((await jose.compactVerify(cases.at(-2)[1], SIGNED_EC.publicKey, { crit: { 'urn:x': true } })).protectedHeader.kid, 'ec-1',
      'positive control: the crit case is validly signed');
    for (const [name, assertion] of cases) {
      const r = await tokenRequest(signedRedemption(flow, assertion, { client_id: 'signed' }));
      assertTokenError(r, 401, 'invalid_client');
      assert.equal(r.headers.get('www-authenticate'), null, name);
      const bare = await tokenRequest(signedRedemption(flow, assertion));
      assert.equal(bare.status, 401, `${name}, without client_id: ${bare.text}`);
    }
    // a valid assertion, but for another client's client_id parameter
    const other = await tokenRequest(signedRedemption(flow, await signedAssertion(), { client_id: 'portal' }));
    assertTokenError(other, 401, 'invalid_client');
    // another assertion type
    const saml = await tokenRequest(signedRedemption(flow, await signedAssertion(), { client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:saml2-bearer' }));
    assertTokenError(saml, 401, 'invalid_client');
    // the code survived every attempt: the client redeems it
    const ok = await tokenRequest(signedRedemption(flow, await signedAssertion()));
    assert.equal(ok.status, 200, ok.text);
  });

  test('a replayed jti → 401 invalid_client, also in a new assertion; the second code stays redeemable', async () => {
    const first = await signedLogin();
    const assertion = await signedAssertion({ claims: { jti: 'replay-me' } });
    const ok = await tokenRequest(signedRedemption(first, assertion));
    assert.equal(ok.status, 200, ok.text);
    const second = await signedLogin();
    assertTokenError(await tokenRequest(signedRedemption(second, assertion)), 401, 'invalid_client');
    const sameJti = await signedAssertion({ key: SIGNED_RSA.privateKey, alg: 'PS256', kid: 'rsa-1', claims: { jti: 'replay-me' } });
    assertTokenError(await tokenRequest(signedRedemption(second, sameJti)), 401, 'invalid_client');
    const fresh = await tokenRequest(signedRedemption(second, await signedAssertion()));
    assert.equal(fresh.status, 200, fresh.text);
    // the jti is remembered with a TTL: until the assertion's exp, plus the skew, counted in whole
    // seconds of the broker's time(), which reads the kernel's coarse clock: for a few milliseconds
    // after a second begins it may still show the one before, while this test's Date.now() has
    // moved on (seen once under ASan: 120,800 ms). Hence one second of slack
    const key = spawnSync('redis-cli', ['-p', String(redis.port), '--scan', '--pattern', 'replay:jti:signed:*'], { encoding: 'utf8' })
      .stdout.trim().split('\n').filter(Boolean);
    assert.ok(key.length >= 2, `replay keys: ${key}`);
    for (const k of key) {
      const ttl = Number(spawnSync('redis-cli', ['-p', String(redis.port), 'PTTL', k], { encoding: 'utf8' }).stdout.trim());
      assert.ok(ttl > 0 && ttl <= (60 + 60 + 1) * 1000, `TTL of ${k}: ${ttl}`);
    }
  });

  test('fifty parallel uses of one assertion → exactly one authenticates', async () => {
    const flows = [];
    for (let i = 0; i < 5; i++) flows.push(await signedLogin());
    const assertion = await signedAssertion();
    const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => tokenRequest(signedRedemption(flows[i % 5], assertion))));
    assert.equal(answers.filter((r) => r.status === 200).length, 1, answers.map((r) => r.status).join(','));
    assert.equal(answers.filter((r) => r.status === 401 && r.json?.error === 'invalid_client').length, 49);
  });

  test('a secret from the private_key_jwt client, or two methods at once → refused; the code survives', async () => {
    const flow = await signedLogin();
    // a secret instead of an assertion: the client has none, any secret is refused
    for (const [name, params, opts] of [
      ['client_secret_post', { ...signedRedemption(flow, undefined, { client_assertion_type: undefined }), client_id: 'signed', client_secret: SECRET }, {}],
      ['client_secret_basic', signedRedemption(flow, undefined, { client_assertion_type: undefined }), { auth: ['signed', SECRET] }],
      ['no credentials at all', { ...signedRedemption(flow, undefined, { client_assertion_type: undefined }), client_id: 'signed' }, {}],
    ]) {
      const r = await tokenRequest(params, opts);
      assertTokenError(r, 401, 'invalid_client');
      assert.ok(name);
    }
    // two methods at once, or half an assertion: a malformed request
    for (const [name, params, opts] of [
      ['assertion and client_secret', { ...signedRedemption(flow, await signedAssertion()), client_secret: SECRET }, {}],
      ['assertion and Basic', signedRedemption(flow, await signedAssertion()), { auth: ['signed', SECRET] }],
      ['assertion without its type', signedRedemption(flow, await signedAssertion(), { client_assertion_type: undefined }), {}],
      ['a type without an assertion', signedRedemption(flow, undefined), {}],
    ]) {
      const r = await tokenRequest(params, opts);
      assert.equal(r.status, 400, `${name}: ${r.text}`);
      assert.equal(r.json?.error, 'invalid_request', name);
    }
    const ok = await tokenRequest(signedRedemption(flow, await signedAssertion()));
    assert.equal(ok.status, 200, ok.text);
  });
});

describe('userinfo', () => {
  for (const [name, headers, error] of [
    ['no token', {}, false],
    ['a bogus bearer token', { authorization: 'Bearer Zm9vYmFy' }, true],
    ['an empty bearer token', { authorization: 'Bearer ' }, false],
    ['Basic instead of Bearer', { authorization: basic('portal', SECRET) }, false],
  ]) {
    test(`${name} → 401 with a Bearer challenge`, async () => {
      const res = await fetch(`${broker.url}/userinfo`, { headers });
      assert.equal(res.status, 401, await res.text());
      const challenge = res.headers.get('www-authenticate') ?? '';
      assert.match(challenge, /^Bearer\b/);
      if (error) assert.match(challenge, /error="invalid_token"/);
    });
  }
});

describe('the ID token', () => {
  test('ES256 with a kid from /jwks, typ JWT, lives 300 s; openid-client refuses one with an altered signature', async () => {
    const strict = [oidc.enableNonRepudiationChecks];
    const flow = await portalLogin({ execute: strict });
    const tokens = await oidc.authorizationCodeGrant(flow.config, flow.callback, {
      pkceCodeVerifier: flow.verifier, expectedState: flow.state, expectedNonce: flow.nonce,
    });
    const jwks = jose.createRemoteJWKSet(new URL(`${broker.url}/jwks`));
    const { payload, protectedHeader } = await jose.jwtVerify(tokens.id_token, jwks, {
      issuer: broker.url, audience: 'portal', algorithms: ['ES256'], typ: 'JWT',
    });
    assert.equal(protectedHeader.alg, 'ES256');
    assert.equal(protectedHeader.typ, 'JWT');
    assert.equal(typeof protectedHeader.kid, 'string');
    assert.ok(protectedHeader.kid.length > 0);
    const set = await (await fetch(`${broker.url}/jwks`)).json();
    assert.ok(set.keys.some((k) => k.kid === protectedHeader.kid), 'the kid is in the JWK Set');
    assert.equal(payload.exp - payload.iat, ID_TOKEN_TTL_S);
    assert.equal(payload.nonce, flow.nonce);

    // sanity: the same client refuses an ID token whose signature was altered in transit
    const flow2 = await portalLogin({ execute: strict });
    flow2.config[oidc.customFetch] = async (url, options) => {
      const res = await fetch(url, options);
      if (!String(url).endsWith('/token') || res.status !== 200) return res;
      const body = await res.json();
      const [h, p, s] = body.id_token.split('.');
      const i = 20;
      body.id_token = `${h}.${p}.${s.slice(0, i)}${s[i] === 'A' ? 'B' : 'A'}${s.slice(i + 1)}`;
      return new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json' } });
    };
    await assert.rejects(oidc.authorizationCodeGrant(flow2.config, flow2.callback, {
      pkceCodeVerifier: flow2.verifier, expectedState: flow2.state, expectedNonce: flow2.nonce,
    }), (e) => /JWT signature verification failed/.test(e.cause?.message));
  });
});

// ---------------------------------------------------------------------------
// Mobile-ID

describe('Mobile-ID: bad personal code or phone → 400 with the message, no call upstream', () => {
  const ok = citizenByOutcome('OK_EC');
  const cases = [
    ['personal code with a wrong checksum', ok.phone, ok.personalCode.slice(0, 10) + ((Number(ok.personalCode[10]) + 1) % 10), 'This personal identification code is not valid.'],
    ['personal code with an impossible date', ok.phone, '38013325718', 'This personal identification code is not valid.'],
    ['personal code too short', ok.phone, ok.personalCode.slice(0, 10), 'This personal identification code is not valid.'],
    ['personal code with a letter', ok.phone, `${ok.personalCode.slice(0, 10)}X`, 'This personal identification code is not valid.'],
    ['missing personal code', ok.phone, undefined, 'This personal identification code is not valid.'],
    ['phone without +', ok.phone.slice(1), ok.personalCode, 'Enter the phone number in international format, for example +37255555555.'],
    ['phone with spaces', '+372 6900 0766', ok.personalCode, 'Enter the phone number in international format, for example +37255555555.'],
    ['phone with a leading 0 after +', '+03726900076', ok.personalCode, 'Enter the phone number in international format, for example +37255555555.'],
    ['phone too short', '+1234567', ok.personalCode, 'Enter the phone number in international format, for example +37255555555.'],
    ['phone too long (16 digits)', '+3726900076612345', ok.personalCode, 'Enter the phone number in international format, for example +37255555555.'],
    ['phone in national format', '69000766', ok.personalCode, 'Enter the phone number in international format, for example +37255555555.'],
    ['missing phone', undefined, ok.personalCode, 'Enter the phone number in international format, for example +37255555555.'],
  ];
  for (const [name, phone, code, message] of cases) {
    test(name, async () => {
      const { agent, csrf } = await atMidForm();
      const form = { csrf };
      if (phone !== undefined) form.phone = phone;
      if (code !== undefined) form.personal_code = code;
      const [r, calls] = await simLog.during(() => agent.post('/auth/mid', form));
      assert.equal(r.status, 400, r.text);
      assert.match(r.headers.get('content-type') ?? '', /^text\/html/);
      assert.equal(elementText(r.text, 'error'), message);
      assert.deepEqual(calls, [], 'no call upstream');
    });
  }
});

describe('Mobile-ID rate limits (per person 2, per phone 10, per client address 100) → 429, no call upstream', () => {
  let rlRedis, rl;
  let attempts = 0; // starts from this address so far
  const LIMITED = 'Too many login attempts. Please wait a few minutes and try again.';

  before(async () => {
    rlRedis = await startRedis();
    rl = await startBroker({
      store: rlRedis.url, workers: 1, timeoutMs: STORE_TIMEOUT_MS,
      broker: {
        relying_parties: RELYING_PARTIES,
        backends: { mobile_id: mobileIdSettings(sim, { rate_limit: { per_person: 2, per_phone: 10, per_client_address: 100, window_seconds: 300 } }) },
      },
    });
  });
  after(async () => { await rl?.stop(); await rlRedis?.stop(); });

  async function start(agent, csrf, phone, code) {
    attempts++;
    return agent.post('/auth/mid', { csrf, phone, personal_code: code });
  }

  test('the third start for the same personal code is refused; another person still logs in', async () => {
    const c = citizenByOutcome('OK');
    const { agent, csrf } = await atMidForm(rl);
    const [[r1, r2], calls] = await simLog.during(async () => [await start(agent, csrf, c.phone, c.personalCode), await start(agent, csrf, c.phone, c.personalCode)]);
    assert.equal(r1.status, 303, r1.text);
    assert.equal(r2.status, 303, r2.text);
    assert.equal(calls.length, 2);
    const [r3, calls3] = await simLog.during(() => start(agent, csrf, c.phone, c.personalCode));
    assert.equal(r3.status, 429, r3.text);
    assert.equal(elementText(r3.text, 'error'), LIMITED);
    assert.deepEqual(calls3, [], 'no call upstream');
    // the same person from another phone is still refused (the person counter)
    const [r4, calls4] = await simLog.during(() => start(agent, csrf, '+37250000999', c.personalCode));
    assert.equal(r4.status, 429, r4.text);
    assert.deepEqual(calls4, []);

    attempts++;
    const other = await portalLogin({}, citizenByOutcome('OK_EC'), rl);
    assert.ok(other.code, 'another person gets through to a code');
  });

  test('the eleventh start from the same phone is refused', async () => {
    const phone = '+37250001111';
    const { agent, csrf } = await atMidForm(rl);
    for (let i = 0; i < 10; i++) {
      const r = await start(agent, csrf, phone, makePersonalCode('1990-01-01', 'M', i));
      assert.equal(r.status, 303, `attempt ${i + 1}: ${r.text}`);
    }
    const [r, calls] = await simLog.during(() => start(agent, csrf, phone, makePersonalCode('1990-01-01', 'M', 10)));
    assert.equal(r.status, 429, r.text);
    assert.equal(elementText(r.text, 'error'), LIMITED);
    assert.deepEqual(calls, []);
    const fine = await start(agent, csrf, '+37250002222', makePersonalCode('1990-01-01', 'M', 11));
    assert.equal(fine.status, 303, 'another phone still works');
  });

  test('the 101st start from the same client address is refused', async () => {
    const { agent, csrf } = await atMidForm(rl);
    let i = 0;
    while (attempts < 100) {
      const n = i++;
      const r = await start(agent, csrf, `+3725100${String(n).padStart(4, '0')}`, makePersonalCode('1985-05-05', 'F', n));
      assert.equal(r.status, 303, `attempt ${attempts}: ${r.text}`);
    }
    const [r, calls] = await simLog.during(() => start(agent, csrf, '+37251009999', makePersonalCode('1985-05-06', 'F', 0)));
    assert.equal(r.status, 429, r.text);
    assert.equal(elementText(r.text, 'error'), LIMITED);
    assert.deepEqual(calls, []);
  });
});

// ---------------------------------------------------------------------------
// Store and HTTP

describe('store and HTTP', () => {
  test('a code redeemed after it expired (30 s) → invalid_grant', async () => {
    const waitMs = expiring.issuedAt + (CODE_TTL_S + 1.5) * 1000 - Date.now();
    if (waitMs > 0) await sleep(waitMs);
    const r = await tokenRequest(redemption(expiring), { auth: ['portal', SECRET] });
    assertTokenError(r, 400, 'invalid_grant');
  });

  test('Redis down at /auth/mid/finish, where the code is issued → 503, no code sent', async () => {
    const { agent } = await authorize(broker.url, { clientId: 'portal', secret: SECRET, redirectUri: CB });
    const form = await agent.get('/auth/mid');
    const c = citizenByOutcome('OK_EC');
    const started = await agent.post('/auth/mid', { csrf: hiddenField(form.text, 'csrf'), phone: c.phone, personal_code: c.personalCode });
    assert.equal(started.status, 303);
    let status;
    for (let i = 0; i < 50 && status !== 'COMPLETE'; i++) status = JSON.parse((await agent.get('/auth/mid/status')).text).state;
    redis.pause();
    let r;
    try {
      r = await agent.get('/auth/mid/finish');
    } finally {
      redis.resume();
    }
    assert.equal(r.status, 503, r.text);
    assert.equal(r.location, null, 'no code sent to the relying party');
  });

  test('Redis down when a code is redeemed → 503 or invalid_grant, never tokens', async () => {
    const flow = await portalLogin();
    redis.pause();
    let r;
    try {
      r = await tokenRequest(redemption(flow), { auth: ['portal', SECRET] });
    } finally {
      redis.resume();
    }
    assert.ok(r.status === 503 || (r.status === 400 && r.json?.error === 'invalid_grant'), `${r.status} ${r.text}`);
    assert.ok(!r.text.includes('access_token'));
  });

  describe('oversized, chunked and file-buffered bodies → 413 or a correct parse, never 5xx', () => {
    const BODY_MAX = 64 * 1024; // NGX_HTTP_EIDHUB_BODY_MAX
    const tokenBody = (pad) => `grant_type=authorization_code&code=nonexistent&redirect_uri=${encodeURIComponent(CB)}&pad=${'a'.repeat(pad)}`;
    const chunked = (text) => {
      const parts = [];
      for (let i = 0; i < text.length; i += 4096) {
        const c = text.slice(i, i + 4096);
        parts.push(`${c.length.toString(16)}\r\n${c}\r\n`);
      }
      return `${parts.join('')}0\r\n\r\n`;
    };
    const post = (body, { chunk = false } = {}) => rawRequest(broker.port, 'POST /token HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n'
      + `Content-Type: application/x-www-form-urlencoded\r\nAuthorization: ${basic('portal', SECRET)}\r\n`
      + (chunk ? `Transfer-Encoding: chunked\r\n\r\n${chunked(body)}` : `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`));
    /** A parsed body gets the token endpoint's answer for an unknown code. */
    const parsed = (r) => r.status === 400 && JSON.parse(r.body).error === 'invalid_grant';

    for (const [name, size, chunk, accept] of [
      ['a small body', 100, false, 'parse'],
      ['a small chunked body', 100, true, 'parse'],
      ['12 KiB (over nginx\'s in-memory buffer, under the 64 KiB limit)', 12 * 1024, false, 'either'],
      ['12 KiB chunked', 12 * 1024, true, 'either'],
      ['40 KiB', 40 * 1024, false, 'either'],
      ['40 KiB chunked', 40 * 1024, true, 'either'],
      ['100 KiB (over the limit)', 100 * 1024, false, 413],
      ['100 KiB chunked (over the limit, no Content-Length)', 100 * 1024, true, 413],
    ]) {
      test(name, async () => {
        const r = await post(tokenBody(size), { chunk });
        assert.ok(r.status < 500, `${r.status}: ${r.body.slice(0, 200)}`);
        if (accept === 'parse') assert.ok(parsed(r), `${r.status} ${r.body.slice(0, 200)}`);
        else if (accept === 'either') assert.ok(r.status === 413 || parsed(r), `${r.status} ${r.body.slice(0, 200)}`);
        else assert.equal(r.status, accept);
        assert.ok(size < BODY_MAX || accept === 413);
      });
    }

    test('an empty body, or none at all: a protocol error', async () => {
      const r = await tokenRequest(null, { body: '' });
      assertTokenError(r, 401, 'invalid_client');
      const r2 = await new Agent(broker.url).request('/auth/mid', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
      assert.equal(r2.status, 400, 'no session: the session-expired page');
    });
  });

  test('oversized cookies → 4xx or a normal answer, never 5xx', async () => {
    const { agent } = await atMidForm();
    const txn = agent.cookies.get('eidhub_txn');
    const cases = [
      ['4 KiB of other cookies', `junk=${'j'.repeat(4096)}; eidhub_txn=${txn}`, 200],
      ['1000 small cookies', `${Array.from({ length: 1000 }, (_, i) => `c${i}=v`).join('; ')}; eidhub_txn=${txn}`, null],
      ['an eidhub_txn of 600 bytes', `eidhub_txn=${'A'.repeat(600)}`, 400],
      ['an eidhub_txn of 6 KiB', `eidhub_txn=${'A'.repeat(6 * 1024)}`, 400],
      ['a 20 KiB Cookie header', `junk=${'j'.repeat(20 * 1024)}; eidhub_txn=${txn}`, null],
      ['a 64 KiB Cookie header', `junk=${'j'.repeat(64 * 1024)}`, null],
    ];
    for (const [name, cookie, expected] of cases) {
      const r = await rawRequest(broker.port, `GET /login HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nCookie: ${cookie}\r\n\r\n`);
      assert.ok(r.status >= 200 && r.status < 500, `${name}: ${r.status}`);
      if (expected) assert.equal(r.status, expected, name);
    }
  });

  test('two eidhub_txn cookies → treated as no session (the session-expired page), nothing started', async () => {
    const { agent, csrf } = await atMidForm();
    const txn = agent.cookies.get('eidhub_txn');
    const other = (await atMidForm()).agent.cookies.get('eidhub_txn');
    const c = citizenByOutcome('OK_EC');
    const body = new URLSearchParams({ csrf, phone: c.phone, personal_code: c.personalCode }).toString();
    for (const cookies of [[`eidhub_txn=${txn}; eidhub_txn=${txn}`], [`eidhub_txn=${txn}; eidhub_txn=${other}`], [`eidhub_txn=${other}; eidhub_txn=${txn}`],
      [`eidhub_txn=${txn}`, `eidhub_txn=${txn}`]]) {
      const cookieLines = cookies.map((v) => `Cookie: ${v}\r\n`).join('');
      const page = await rawRequest(broker.port, `GET /login HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n${cookieLines}\r\n`);
      assert.equal(page.status, 400, cookies.join(' | '));
      assert.match(page.body, /Your login session has expired or was not found/);
      const [post, calls] = await simLog.during(() => rawRequest(broker.port, `POST /auth/mid HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n${cookieLines}`
        + `Content-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\n\r\n${body}`));
      assert.equal(post.status, 400, cookies.join(' | '));
      assert.match(post.body, /Your login session has expired or was not found/);
      assert.deepEqual(calls, []);
    }
    // positive control: the one cookie alone is the session
    const ok = await agent.get('/login');
    assert.equal(ok.status, 200);
  });

  test('HTML pages escape what they reflect; <script> in state or a bad parameter is never echoed', async () => {
    const payload = '<script>eh_xss()</script>';
    const bad = [
      withParam(withParam(goodPairs({ state: payload }), 'redirect_uri', `${CB}/${payload}`), 'nonce', payload),
      withParam(goodPairs({ state: payload }), 'client_id', payload),
      [...goodPairs({ state: payload }), ['state', payload]],
    ];
    for (const pairs of bad) {
      const r = await new Agent(broker.url).get(authorizeUrl(pairs));
      assert.equal(r.status, 400);
      assert.ok(!r.text.includes('eh_xss'), 'the page does not reflect the input');
    }
    // after a verified redirect_uri the state travels percent-encoded in the Location only
    const e = await new Agent(broker.url).get(authorizeUrl(withParam(goodPairs({ state: payload }), 'response_type', 'token')));
    assert.equal(e.status, 303);
    assert.ok(!e.headers.get('location').includes('<'), e.headers.get('location'));
    assert.equal(new URL(e.location).searchParams.get('state'), payload);
    assert.ok(!e.text.includes('<script>eh_xss'));
    // pages that do not exist, or need a session
    for (const p of [`/${encodeURIComponent(payload)}`, `/login?x=${encodeURIComponent(payload)}`, `/auth/mid?phone=${encodeURIComponent(payload)}`]) {
      const r = await fetch(broker.url + p);
      const text = await r.text();
      assert.ok(r.status < 500, p);
      assert.ok(!text.includes('<script>eh_xss'), p);
    }
    // the Mobile-ID form reflects what was typed, escaped
    const { agent, csrf } = await atMidForm(broker, { extra: { ui_locales: '<script>eh_xss()' } });
    const login = await agent.get('/login');
    assert.ok(!login.text.includes('eh_xss'), 'ui_locales is not reflected');
    const phonePayload = '<script>eh_xss(';
    const r1 = await agent.post('/auth/mid', { csrf, phone: phonePayload, personal_code: '"><b>x' });
    assert.equal(r1.status, 400);
    assert.ok(!r1.text.includes('<script>eh_xss'), 'phone escaped');
    assert.ok(r1.text.includes('&lt;script&gt;eh_xss('), 'phone reflected escaped');
    assert.ok(!r1.text.includes('"><b>'), 'personal code escaped');
    const r2 = await agent.post('/auth/mid', { csrf, phone: '+37269000766', personal_code: '"><script>' });
    assert.equal(r2.status, 400);
    assert.ok(!r2.text.includes('"><script>'));
    assert.ok(r2.text.includes('&quot;&gt;&lt;script&gt;'), 'personal code reflected escaped');
  });

  test('format characters in state, nonce and form fields: carried verbatim, no crash', async () => {
    const fmt = '%s%n%x%p%99999999d%%';
    const flow = await portalLogin({ extra: { state: fmt, nonce: `${fmt}n` } });
    assert.equal(flow.callback.searchParams.get('state'), fmt);
    const r = await tokenRequest(redemption(flow), { auth: ['portal', SECRET] });
    assert.equal(r.status, 200, r.text);
    assert.equal(jose.decodeJwt(r.json.id_token).nonce, `${fmt}n`);
    const { agent, csrf } = await atMidForm();
    const bad = await agent.post('/auth/mid', { csrf, phone: '+372%n%s', personal_code: '%n%n%n%n' });
    assert.equal(bad.status, 400);
    const u = await userinfo(fmt);
    assert.equal(u.status, 401);
    const t = await tokenRequest({ grant_type: 'authorization_code', code: fmt, redirect_uri: fmt, code_verifier: fmt }, { auth: [fmt, fmt] });
    assert.equal(t.status, 401);
  });
});

describe('afterwards', () => {
  test('the worker never crashed', () => {
    const log = broker.errorLog();
    assert.doesNotMatch(log, /exited on signal|\[alert\]|\[emerg\]/);
  });

  test('every key in the store expires', () => {
    const r = spawnSync('redis-cli', ['-p', String(redis.port), '--no-raw', 'EVAL',
      "local n, bad = 0, {} for _, k in ipairs(redis.call('KEYS', '*')) do n = n + 1 if redis.call('PTTL', k) < 0 then table.insert(bad, k) end end return {n, bad}", '0'],
    { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.match(lines[0], /^1\) \(integer\) [1-9]\d*$/, `some keys exist: ${r.stdout}`);
    assert.ok(lines.length === 2 && /\(empty (array|list)/.test(lines[1]), `keys without a TTL: ${r.stdout}`);
  });

  test('no personal data or secrets in the logs', () => {
    const logs = ['error.log', 'access.log'].map((f) => fs.readFileSync(path.join(broker.dir, f), 'utf8')).join('\n');
    for (const c of CITIZENS) {
      assert.ok(!logs.includes(c.personalCode), `personal code of ${c.outcome}`);
      assert.ok(!logs.includes(c.phone.slice(1)), `phone of ${c.outcome}`);
    }
    assert.ok(!logs.includes(SECRET) && !logs.includes(TAX_SECRET), 'client secrets');
  });
});
