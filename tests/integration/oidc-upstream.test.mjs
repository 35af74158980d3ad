// eidhub as a relying party of national OpenID Connect eID providers
// (backend oidc_upstream), over real HTTP: a portal written with
// openid-client logs a citizen in through eidhub (real nginx + module, real
// Redis) through a real, certified OpenID Provider (oidc-provider from npm,
// tests/sim/national-oidc.mjs) standing in for the national service; two
// such providers are configured at once, each with its own claim and LoA
// mapping. Every case of SECURITY.md "OpenID Connect (we are a client of a
// national eID provider)" has a test here: the hostile ID tokens come from
// tests/sim/hostile-oidc.mjs.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import * as oidc from 'openid-client';
import { Agent, elementText, hiddenField } from '../lib/agent.mjs';
import { freePort, startBroker, startRedis } from '../lib/harness.mjs';
import { authorize as authorizeAt } from '../lib/oidc-flow.mjs';
import { loginAtProvider, nationalProviderSettings, providerAgent, startNationalOidcProcess } from '../lib/oidc-upstream.mjs';
import { GIVEN_NAME as HOSTILE_NAME, SUB as HOSTILE_SUB, startHostileOidc } from '../sim/hostile-oidc.mjs';

const hex = () => crypto.randomBytes(8).toString('hex');
const sha256hex = (s) => crypto.createHash('sha256').update(s).digest('hex');
const PORTAL_SECRET = `portal-secret-${hex()}`;
const PORTAL_CB = 'http://127.0.0.1:9/callback';
const FR = { clientId: 'eidhub-fr', clientSecret: `fr-secret-${hex()}` };
const BE = { clientId: 'eidhub-be', clientSecret: `be-secret-${hex()}` };
const HOSTILE = { clientId: 'eidhub-h', clientSecret: `h-secret-${hex()}` };
const LATE = { clientId: 'eidhub-late', clientSecret: `late-secret-${hex()}` };

let redis, fr, be, hostile, broker, callbackUrl, latePort;

before(async () => {
  redis = await startRedis();
  const port = await freePort();
  callbackUrl = `http://127.0.0.1:${port}/auth/oidc/callback`;
  [fr, be] = await Promise.all([
    startNationalOidcProcess({ profile: 'fr', ...FR, redirectUri: callbackUrl }),
    startNationalOidcProcess({ profile: 'be', ...BE, redirectUri: callbackUrl }),
  ]);
  hostile = await startHostileOidc({ ...HOSTILE, redirectUri: callbackUrl, otherIssuer: fr.url, stallMs: 3000 });
  latePort = await freePort(); // nothing listens there when nginx starts
  broker = await startBroker({
    port,
    store: redis.url,
    workers: 1, // one worker, one cache: fetch counts are exact
    broker: {
      relying_parties: [{
        client_id: 'portal', client_secret_sha256: sha256hex(PORTAL_SECRET), redirect_uris: [PORTAL_CB],
        display_name: { en: 'City portal', et: 'Linnaportaal' }, policy: 'full', subject_type: 'public',
      }],
      backends: {
        oidc_upstream: {
          jwks_refresh_min_seconds: 1,
          request_timeout_ms: 1500,
          providers: [
            nationalProviderSettings('fr', fr, FR),
            nationalProviderSettings('be', be, BE),
            {
              id: 'hostile', display_name: 'Hostile eID', issuer: hostile.url, ...snake(HOSTILE),
              scopes: ['openid', 'profile'], claim_mapping: { given_name: 'given_name', family_name: 'family_name' },
              loa_mapping: { 'h-low': 'low', 'h-high': 'high' }, acr_values: ['h-high'], country: 'LU',
            },
            {
              id: 'late', display_name: 'Late eID', issuer: `http://127.0.0.1:${latePort}`, ...snake(LATE),
              loa_mapping: { 'h-low': 'low', 'h-high': 'high' }, acr_values: ['h-high'], country: 'LV',
            },
          ],
        },
      },
    },
  });
});
after(async () => { await broker?.stop(); await hostile?.stop(); await fr?.stop(); await be?.stop(); await redis?.stop(); });

function snake({ clientId, clientSecret }) { return { client_id: clientId, client_secret: clientSecret }; }

/** The portal's authorization request at eidhub, in a new browser. */
function portalAuthorize({ acr = 'substantial', locale = 'en', scope = 'openid profile birthdate' } = {}) {
  return authorizeAt(broker.url, {
    clientId: 'portal', secret: PORTAL_SECRET, redirectUri: PORTAL_CB, scope,
    extra: { ui_locales: locale, ...(acr ? { acr_values: acr } : {}) },
  });
}

/**
 * A login of the portal started at eidhub and sent on to provider id.
 * Returns the portal's flow plus authUrl (eidhub's redirect to the provider)
 * and pa (the same browser at the provider).
 */
async function startAt(id, options) {
  const flow = await portalAuthorize(options);
  assert.equal(flow.first.status, 303, flow.first.text);
  const r = await flow.agent.get(`/auth/oidc?provider=${id}`);
  assert.equal(r.status, 303, r.text);
  return { ...flow, authUrl: r.location, pa: id === 'fr' ? providerAgent(fr) : id === 'be' ? providerAgent(be) : null };
}

/** eidhub's answer to the provider's redirect, and on to the portal's tokens. */
async function finish(flow, callback) {
  const done = await flow.agent.get(callback);
  const why = broker.errorLog().split('\n').filter((l) => l.includes('oidc_upstream')).slice(-2).join('\n');
  assert.equal(done.status, 303, `${done.status} ${elementText(done.text, 'error') ?? done.text}\n${why}`);
  assert.ok(done.location.startsWith(`${PORTAL_CB}?`), done.location);
  const tokens = await oidc.authorizationCodeGrant(flow.config, new URL(done.location), {
    pkceCodeVerifier: flow.verifier, expectedState: flow.state, expectedNonce: flow.nonce, idTokenExpected: true,
  });
  return tokens;
}

/** Asserts a refusal page: status, message, no code for the portal; then "cancel" gives access_denied. */
async function assertRefused(flow, answer, status, message) {
  assert.equal(answer.status, status, `${answer.status} ${elementText(answer.text, 'error') ?? answer.text}`);
  assert.match(elementText(answer.text, 'error') ?? '', message);
  assert.equal(answer.location, null);
  const cancel = await flow.agent.post('/cancel', { csrf: hiddenField(answer.text, 'csrf') });
  assert.equal(cancel.status, 303);
  const back = new URL(cancel.location);
  assert.equal(back.origin + back.pathname, PORTAL_CB);
  assert.equal(back.searchParams.get('error'), 'access_denied');
  assert.equal(back.searchParams.get('code'), null);
}

/** No personal data of any test citizen in nginx's error log. */
function assertNoPersonalDataLogged() {
  const log = broker.errorLog();
  for (const secret of [fr.citizens.jean.sub, fr.citizens.marie.sub, 'Dupont', 'Martin', '1980-01-08', be.citizens.lucas.sub,
    '85073003328', 'Peeters', HOSTILE_SUB, HOSTILE_NAME, FR.clientSecret, BE.clientSecret, HOSTILE.clientSecret]) {
    assert.ok(!log.includes(secret), `the error log holds ${secret}`);
  }
}

describe('a citizen logs in through a national OpenID Connect eID provider', () => {
  test('the method-choice page offers each provider under its own name, at the level asked', async () => {
    const { agent } = await portalAuthorize({ acr: 'substantial' });
    const page = await agent.get('/login');
    assert.equal(page.status, 200);
    assert.match(page.text, /id="method-oidc_upstream-fr" href="\/auth\/oidc\?provider=fr">FranceConnect \(France\)</);
    assert.match(page.text, /id="method-oidc_upstream-be" href="\/auth\/oidc\?provider=be">Belgian eID</);
    assert.match(page.text, /id="method-oidc_upstream-hostile"/);
    // asking for high: the Belgian provider maps nothing to high
    const high = await (await portalAuthorize({ acr: 'high', locale: 'et' })).agent.get('/login');
    assert.match(high.text, /FranceConnect \(Prantsusmaa\)/, 'Estonian label');
    assert.doesNotMatch(high.text, /method-oidc_upstream-be/);
    // and a direct start at that provider is refused too
    const flow = await portalAuthorize({ acr: 'high' });
    const r = await flow.agent.get('/auth/oidc?provider=be');
    assert.equal(r.status, 403);
    const unknown = await flow.agent.get('/auth/oidc?provider=nope');
    assert.equal(unknown.status, 404);
  });

  test('openid-client ← eidhub ← oidc-provider: the whole flow, with PKCE, state, nonce and userinfo', async () => {
    const flow = await startAt('fr', { acr: 'substantial' });
    const req = new URL(flow.authUrl);
    assert.equal(req.origin + req.pathname, `${fr.url}/auth`);
    const p = req.searchParams;
    assert.equal(p.get('response_type'), 'code');
    assert.equal(p.get('client_id'), FR.clientId);
    assert.equal(p.get('redirect_uri'), callbackUrl);
    assert.equal(p.get('scope'), 'openid profile birth');
    assert.equal(p.get('code_challenge_method'), 'S256');
    assert.match(p.get('code_challenge'), /^[A-Za-z0-9_-]{43}$/);
    assert.match(p.get('state'), /^[A-Za-z0-9_-]{43}$/);
    assert.match(p.get('nonce'), /^[A-Za-z0-9_-]{43}$/);
    assert.notEqual(p.get('state'), p.get('nonce'));
    assert.equal(p.get('acr_values'), 'eidas2 eidas3', 'only the acr values at or above the level asked');
    assert.equal(p.get('ui_locales'), 'en');

    const callback = await loginAtProvider(flow.pa, flow.authUrl, 'jean');
    const back = new URL(callback);
    assert.equal(back.origin + back.pathname, callbackUrl);
    assert.equal(back.searchParams.get('iss'), fr.url, 'oidc-provider sends RFC 9207 iss');
    const tokens = await finish(flow, callback);
    const claims = tokens.claims();
    const jean = fr.citizens.jean;
    assert.equal(claims.iss, broker.url);
    assert.equal(claims.aud, 'portal');
    assert.equal(claims.sub, `FR${jean.sub}`, 'public subject: the configured country and the id claim');
    assert.equal(claims.acr, 'high', 'eidas3 maps to high');
    assert.deepEqual(claims.amr, ['oidc']);
    const info = await oidc.fetchUserInfo(flow.config, tokens.access_token, claims.sub);
    assert.equal(info.given_name, 'Jean');
    assert.equal(info.family_name, 'Dupont');
    assert.equal(info.birthdate, '1980-01-08');
    assertNoPersonalDataLogged();
  });

  test('a second provider at once, with its own claim mapping and identifier claim', async () => {
    const flow = await startAt('be', { acr: 'low' });
    assert.equal(new URL(flow.authUrl).searchParams.get('acr_values'), 'urn:be:loa:low urn:be:loa:substantial');
    const tokens = await finish(flow, await loginAtProvider(flow.pa, flow.authUrl, 'lucas'));
    const claims = tokens.claims();
    assert.equal(claims.sub, 'BE85073003328', 'nationalNumber is the identifier');
    assert.equal(claims.acr, 'substantial');
    const info = await oidc.fetchUserInfo(flow.config, tokens.access_token, claims.sub);
    assert.equal(info.given_name, 'Lucas', 'firstName mapped to given_name');
    assert.equal(info.family_name, 'Peeters', 'lastName mapped to family_name');
    assert.equal(info.birthdate, '1985-07-30', 'birthDate mapped to date_of_birth');
    assertNoPersonalDataLogged();
  });

  test('an acr below the level asked is refused, with a clear message', async () => {
    const flow = await startAt('fr', { acr: 'substantial' });
    const answer = await flow.agent.get(await loginAtProvider(flow.pa, flow.authUrl, 'marie'));
    await assertRefused(flow, answer, 400, /lower level of assurance/);
  });

  test('the citizen cancels at the provider: a clear message, then try again or cancel', async () => {
    const flow = await startAt('fr');
    const answer = await flow.agent.get(await loginAtProvider(flow.pa, flow.authUrl, null));
    assert.equal(answer.status, 200);
    assert.match(elementText(answer.text, 'error'), /cancelled or refused at the eID service/);
    assert.match(answer.text, /id="try-again" href="\/auth\/oidc\?provider=fr"/);
    assert.match(answer.text, /id="cancel"/);
    // try again: a new request (new state) and a login
    const again = await flow.agent.get('/auth/oidc?provider=fr');
    assert.equal(again.status, 303);
    assert.notEqual(new URL(again.location).searchParams.get('state'), new URL(flow.authUrl).searchParams.get('state'));
    const tokens = await finish(flow, await loginAtProvider(flow.pa, again.location, 'jean'));
    assert.equal(tokens.claims().sub, `FR${fr.citizens.jean.sub}`);
  });

  test('Estonian texts for the Estonian locale', async () => {
    const flow = await startAt('fr', { locale: 'et' });
    const answer = await flow.agent.get(await loginAtProvider(flow.pa, flow.authUrl, null));
    assert.match(elementText(answer.text, 'error'), /katkestati või lükati/);
  });
});

describe('hostile answers (SECURITY.md: we are a client of a national eID provider)', () => {
  test('state not bound to the browser: another browser\'s answer is refused', async () => {
    const a = await startAt('fr');
    const callbackA = await loginAtProvider(a.pa, a.authUrl, 'jean');
    // browser B, in a login of its own, is made to follow A's answer
    const b = await startAt('fr');
    const stolen = await b.agent.get(callbackA);
    assert.equal(stolen.status, 400);
    assert.match(elementText(stolen.text, 'error'), /does not belong to the login in progress in this browser/);
    // a browser without a login gets nothing either
    const none = await new Agent(broker.url).get(callbackA);
    assert.equal(none.status, 400);
    assert.equal(none.location, null);
    // no state, or a repeated one
    const noState = await b.agent.get(`/auth/oidc/callback?code=abc`);
    assert.equal(noState.status, 400);
    const state = new URL(b.authUrl).searchParams.get('state');
    const twice = await b.agent.get(`/auth/oidc/callback?code=abc&state=${state}&state=${state}`);
    assert.equal(twice.status, 400);
    // A's own answer still works, once
    const tokens = await finish(a, callbackA);
    assert.equal(tokens.claims().sub, `FR${fr.citizens.jean.sub}`);
    const replay = await a.agent.get(callbackA);
    assert.equal(replay.status, 400);
    assert.equal(replay.location, null);
    // B's own login is not disturbed by the attempt
    await finish(b, await loginAtProvider(b.pa, b.authUrl, 'jean'));
  });

  test('mix-up: an answer naming another provider\'s issuer is refused, and its state is spent', async () => {
    const flow = await startAt('fr');
    const state = new URL(flow.authUrl).searchParams.get('state');
    const forged = `/auth/oidc/callback?code=abc&state=${state}&iss=${encodeURIComponent(be.url)}`;
    const answer = await flow.agent.get(forged);
    assert.equal(answer.status, 400);
    assert.match(elementText(answer.text, 'error'), /another eID service than the one you chose/);
    // the genuine answer for that state comes too late: the request was spent
    const late = await flow.agent.get(await loginAtProvider(flow.pa, flow.authUrl, 'jean'));
    assert.equal(late.status, 400);
    assert.equal(late.location, null);
  });

  test('mix-up: a genuine answer of the other provider to a login that chose this one is refused', async () => {
    const flow = await startAt('fr');
    const state = new URL(flow.authUrl).searchParams.get('state');
    // the attacker has the Belgian provider answer eidhub with this browser's state
    const beAuth = new URL(`${be.url}/auth`);
    for (const [k, v] of Object.entries({
      client_id: BE.clientId, redirect_uri: callbackUrl, response_type: 'code', scope: 'openid profile national_number',
      state, nonce: 'attacker-nonce', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256',
    })) beAuth.searchParams.set(k, v);
    const callback = await loginAtProvider(providerAgent(be), beAuth.href, 'lucas');
    assert.equal(new URL(callback).searchParams.get('iss'), be.url);
    const answer = await flow.agent.get(callback);
    await assertRefused(flow, answer, 400, /another eID service than the one you chose/);
  });

  test('the hostile provider\'s well-formed answers are accepted (control)', async () => {
    for (const mode of ['good', 'es256', 'ps256']) {
      hostile.setMode(mode);
      const flow = await startAt('hostile', { acr: 'high' });
      const callback = (await new Agent(hostile.url).get(flow.authUrl)).location;
      const tokens = await finish(flow, callback);
      assert.equal(tokens.claims().sub, `LU${HOSTILE_SUB}`, mode);
    }
  });

  // mode -> [status, the citizen's message]
  const refused = {
    'alg-none': [400, /could not be verified/],
    'hs256-public-key': [400, /could not be verified/],
    'bad-signature': [400, /could not be verified/],
    'wrong-iss': [400, /could not be verified/],
    'wrong-aud': [400, /could not be verified/],
    'missing-sub': [400, /could not be verified/],
    'missing-iat': [400, /could not be verified/],
    'wrong-nonce': [400, /could not be verified/],
    expired: [400, /could not be verified/],
    'future-iat': [400, /could not be verified/],
    'kid-path': [400, /could not be verified/],
    'kid-query': [400, /could not be verified/],
    'unknown-kid': [400, /could not be verified/],
    'low-acr': [400, /lower level of assurance/],
    'no-acr': [400, /lower level of assurance/],
    'userinfo-other-sub': [400, /could not be verified/],
    'token-error': [400, /could not be verified/],
    'other-iss-param': [400, /another eID service/],
    'omit-iss-param': [400, /another eID service/],
  };
  for (const [mode, [status, message]] of Object.entries(refused)) {
    test(`${mode}: refused with a clear message, no login, the worker lives on`, async () => {
      hostile.setMode(mode);
      const flow = await startAt('hostile', { acr: 'high' });
      const toUs = await new Agent(hostile.url).get(flow.authUrl);
      assert.equal(toUs.status, 303);
      const answer = await flow.agent.get(toUs.location);
      await assertRefused(flow, answer, status, message);
      const health = await fetch(`${broker.url}/healthz`);
      assert.equal(health.status, 200);
      assertNoPersonalDataLogged();
    });
  }

  test('a kid like a path or a query is only a lookup key: it never reaches a URL', () => {
    const paths = new Set(['GET /.well-known/openid-configuration', 'GET /jwks', 'POST /token', 'GET /userinfo']);
    for (const r of hostile.requests) {
      if (r.startsWith('GET /authorize?')) continue; // the browser's, with eidhub's parameters
      assert.ok(paths.has(r), `eidhub asked the provider for ${r}`);
    }
    assert.ok(hostile.requests.filter((r) => r === 'GET /jwks').length >= 1);
  });

  test('key rollover: an unknown kid fetches the JWK Set once more, at most once per interval', async () => {
    const jwksFetches = () => hostile.requests.filter((r) => r === 'GET /jwks').length;
    const loginWith = async (mode) => {
      hostile.setMode(mode);
      const flow = await startAt('hostile', { acr: 'high' });
      const callback = (await new Agent(hostile.url).get(flow.authUrl)).location;
      return { flow, answer: await flow.agent.get(callback) };
    };
    await sleep(1100); // past jwks_refresh_min_seconds since the last fetch
    hostile.rotate(); // the provider publishes k2 and signs with it
    const before = jwksFetches();
    const { flow, answer } = await loginWith('rollover');
    assert.equal(answer.status, 303, elementText(answer.text, 'error') ?? answer.text);
    assert.equal(jwksFetches(), before + 1, 'one fetch for the new kid');
    await oidc.authorizationCodeGrant(flow.config, new URL(answer.location), {
      pkceCodeVerifier: flow.verifier, expectedState: flow.state, expectedNonce: flow.nonce,
    });
    // right after, unknown kids are refused without fetching again
    for (const mode of ['unknown-kid', 'kid-path', 'kid-query']) {
      const r = await loginWith(mode);
      assert.equal(r.answer.status, 400, mode);
    }
    assert.equal(jwksFetches(), before + 1, 'no fetch within the interval');
    // the known keys still work without any fetch
    const good = await loginWith('good');
    assert.equal(good.answer.status, 303);
    assert.equal(jwksFetches(), before + 1);
  });

  test('discovery happens at first use: a provider down at start is offered later', async () => {
    const flow = await portalAuthorize({ acr: 'high' });
    const down = await flow.agent.get('/auth/oidc?provider=late');
    assert.equal(down.status, 502);
    assert.match(elementText(down.text, 'error'), /not available right now/);
    assert.match(down.text, /id="try-again" href="\/auth\/oidc\?provider=late"/);
    const late = await startHostileOidc({ port: latePort, ...LATE, redirectUri: callbackUrl });
    try {
      const up = await flow.agent.get('/auth/oidc?provider=late');
      assert.equal(up.status, 303, up.text);
      assert.equal(new URL(up.location).origin, late.url);
      assert.deepEqual(late.requests.slice(0, 1), ['GET /.well-known/openid-configuration']);
    } finally {
      await late.stop();
    }
  });

  test('a stalled provider times out with a message and blocks no other request', async () => {
    hostile.setMode('stall');
    const flow = await startAt('hostile', { acr: 'high' });
    const callback = (await new Agent(hostile.url).get(flow.authUrl)).location;
    const started = Date.now();
    let done = false;
    const pending = flow.agent.get(callback).then((r) => { done = true; return r; });
    await sleep(200);
    for (let i = 0; i < 5; i++) {
      const t = Date.now();
      const r = await fetch(`${broker.url}/healthz`);
      assert.equal(r.status, 200);
      await r.arrayBuffer();
      assert.ok(Date.now() - t < 500, `healthz took ${Date.now() - t} ms`);
    }
    assert.equal(done, false, 'the callback is still waiting for the provider');
    const answer = await pending;
    assert.ok(Date.now() - started < 3000, 'bounded by request_timeout_ms');
    await assertRefused(flow, answer, 502, /not available right now/);
    hostile.setMode('good');
  });
});
