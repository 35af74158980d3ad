// The first citizen journey over real HTTP: a relying party written with
// openid-client logs a citizen in through eidhub (real nginx + module, real
// Redis) with Mobile-ID (the simulator, speaking MID REST), and every answer
// of Mobile-ID other than OK. Hostile input: oidc-security.test.mjs.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as oidc from 'openid-client';
import { Agent, elementText, hiddenField } from '../lib/agent.mjs';
import { freePort, mobileIdSettings, startBroker, startMobileIdSim, startRedis } from '../lib/harness.mjs';
import { authorize as authorizeAt, login as loginAt, mobileId } from '../lib/oidc-flow.mjs';
import { citizenByOutcome } from '../sim/mobile-id.mjs';

const SECRET = 'portal-secret-' + crypto.randomBytes(8).toString('hex');
const TAX_SECRET = 'tax-secret-0123456789';
const sha256hex = (s) => crypto.createHash('sha256').update(s).digest('hex');
const PORTAL_CB = 'http://127.0.0.1:9/callback';
const PUBLIC_CB = 'http://127.0.0.1:9/public-callback';

let redis, sim, broker;

before(async () => {
  redis = await startRedis();
  sim = await startMobileIdSim({ delayMs: 300 });
  broker = await startBroker({
    store: redis.url,
    broker: {
      relying_parties: [
        { client_id: 'portal', client_secret_sha256: sha256hex(SECRET), redirect_uris: [PORTAL_CB],
          display_name: { en: 'City portal', et: 'Linnaportaal' }, policy: 'basic', subject_type: 'pairwise' },
        { client_id: 'tax', client_secret_sha256: sha256hex(TAX_SECRET), redirect_uris: ['http://127.0.0.1:9/tax'],
          display_name: 'Tax office', policy: 'full', subject_type: 'public' },
        { client_id: 'public-app', redirect_uris: [PUBLIC_CB], display_name: 'Library', policy: 'basic' },
      ],
      backends: { mobile_id: mobileIdSettings(sim, { rate_limit: { per_person: 50, per_phone: 50, per_client_address: 1000, window_seconds: 60 } }) },
    },
  });
});
after(async () => { await broker?.stop(); await sim?.stop(); await redis?.stop(); });

const SECRETS = { portal: SECRET, tax: TAX_SECRET };

/** Starts an authorization request at this file's broker (the portal unless told otherwise). */
function authorize({ clientId = 'portal', redirectUri = PORTAL_CB, ...rest } = {}) {
  return authorizeAt(broker.url, { clientId, secret: SECRETS[clientId] ?? null, redirectUri, ...rest });
}

/** A whole Mobile-ID login at this file's broker. */
function mobileIdLogin(options, citizen) {
  return loginAt(broker.url, { clientId: 'portal', secret: SECRETS[options.clientId ?? 'portal'] ?? null, redirectUri: PORTAL_CB, ...options }, citizen);
}

describe('a citizen logs in to the portal with Mobile-ID', () => {
  test('openid-client completes the flow, validates the ID token and reads userinfo', async () => {
    const citizen = citizenByOutcome('OK');
    const { config, verifier, state, nonce, agent, first } = await authorize({ extra: { ui_locales: 'et', acr_values: 'high' } });
    assert.equal(first.status, 303);
    assert.equal(new URL(first.location).pathname, '/login');
    const login = await agent.get('/login');
    assert.equal(login.status, 200);
    assert.match(login.text, /Linnaportaal/, 'the portal is named in the chosen language');
    assert.match(login.text, /Mobiil-ID/);
    const done = await mobileId(agent, citizen);
    assert.equal(done.status, 303, done.text);
    assert.ok(done.location.startsWith(PORTAL_CB + '?'));
    const tokens = await oidc.authorizationCodeGrant(config, new URL(done.location), {
      pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true,
    });
    const claims = tokens.claims();
    assert.equal(claims.iss, broker.url);
    assert.equal(claims.aud, 'portal');
    assert.equal(claims.acr, 'high');
    assert.deepEqual(claims.amr, ['mID']);
    assert.equal(claims.given_name, citizen.givenName.toUpperCase() === claims.given_name ? claims.given_name : citizen.givenName);
    assert.ok(claims.family_name);
    assert.equal(claims.birthdate, undefined, 'the basic policy does not release the birth date');
    assert.notEqual(claims.sub, `EE${citizen.personalCode}`, 'pairwise subject, not the national id');
    assert.ok(!JSON.stringify(claims).includes(citizen.personalCode), 'the personal code is not released');
    assert.ok(claims.auth_time <= claims.iat);
    const info = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);
    assert.equal(info.sub, claims.sub);
    assert.equal(info.given_name, claims.given_name);
    assert.equal(info.birthdate, undefined);

    // the same citizen at the same portal gets the same pairwise sub
    const again = await mobileIdLogin({}, citizen);
    const tokens2 = await oidc.authorizationCodeGrant(again.config, again.callback, {
      pkceCodeVerifier: again.verifier, expectedState: again.state, expectedNonce: again.nonce,
    });
    assert.equal(tokens2.claims().sub, claims.sub);

    // reuse of the first code fails and revokes the tokens its first use issued
    await assert.rejects(oidc.authorizationCodeGrant(config, new URL(done.location), {
      pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce,
    }), (e) => e.error === 'invalid_grant');
    await assert.rejects(oidc.fetchUserInfo(config, tokens.access_token, claims.sub),
      (e) => e.status === 401 && e.cause?.[0]?.parameters?.error === 'invalid_token');
  });

  test('a public-subject tax office with the full policy gets the national id and birth date', async () => {
    const citizen = citizenByOutcome('OK_EC');
    const { config, verifier, state, nonce, callback } = await mobileIdLogin({ clientId: 'tax', redirectUri: 'http://127.0.0.1:9/tax', scope: 'openid profile birthdate' }, citizen);
    const tokens = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce });
    const claims = tokens.claims();
    assert.equal(claims.sub, `EE${citizen.personalCode}`);
    assert.equal(claims.birthdate, citizen.dateOfBirth);
  });

  test('a public client must use PKCE and authenticates with client_id only', async () => {
    const { config, verifier, state, nonce, callback } = await mobileIdLogin({ clientId: 'public-app', redirectUri: PUBLIC_CB }, citizenByOutcome('OK'));
    const tokens = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce });
    assert.ok(tokens.claims().sub);
    const agent2 = new Agent(broker.url);
    const r = await agent2.get(`/authorize?client_id=public-app&redirect_uri=${encodeURIComponent(PUBLIC_CB)}&response_type=code&scope=openid&state=s1`);
    assert.equal(r.status, 303);
    const back = new URL(r.location);
    assert.equal(back.searchParams.get('error'), 'invalid_request');
    assert.equal(back.searchParams.get('state'), 's1');
  });
});

describe('Mobile-ID answers other than OK', () => {
  for (const [outcome, message] of [
    ['USER_CANCELLED', /cancelled the login on your phone/],
    ['TIMEOUT', /did not answer on your phone in time/],
    ['NOT_MID_CLIENT', /no active Mobile-ID/],
    ['PHONE_ABSENT', /could not be reached/],
    ['DELIVERY_ERROR', /could not be delivered/],
    ['SIM_ERROR', /SIM card answered with an error/],
    ['SIGNATURE_HASH_MISMATCH', /settings on your SIM card do not match/],
    ['WRONG_SIGNATURE', /could not be verified/],
    ['EXPIRED_CERTIFICATE', /could not be verified/],
    ['OTHER_PERSON_CERTIFICATE', /could not be verified/],
    ['UNTRUSTED_CA', /could not be verified/],
  ]) {
    test(`${outcome}: a clear message, no login, and giving up returns access_denied`, async () => {
      const { agent } = await authorize({ extra: { ui_locales: 'en' } });
      const done = await mobileId(agent, citizenByOutcome(outcome));
      assert.equal(done.status, 200);
      assert.match(elementText(done.text, 'error'), message);
      // the upstream session is not resumed twice: finish again shows the form, not a login
      const again = await agent.get('/auth/mid/finish');
      assert.equal(again.status, 303);
      assert.equal(new URL(again.location).pathname, '/auth/mid');
      const cancel = await agent.post('/cancel', { csrf: hiddenField(done.text, 'csrf') });
      assert.equal(cancel.status, 303);
      const back = new URL(cancel.location);
      assert.equal(back.origin + back.pathname, PORTAL_CB);
      assert.equal(back.searchParams.get('error'), 'access_denied');
      assert.equal(back.searchParams.get('code'), null);
    });
  }

  test('Estonian texts for the Estonian locale', async () => {
    const { agent } = await authorize({ extra: { ui_locales: 'et' } });
    const done = await mobileId(agent, citizenByOutcome('USER_CANCELLED'));
    assert.match(elementText(done.text, 'error'), /katkestasite sisselogimise telefonis/i);
  });
});

describe('certificate revocation (OCSP at the CA\'s responder)', () => {
  /** A Mobile-ID login at broker b's portal that ends on the failure page: that page. */
  async function refused(b, citizen, locale = 'en') {
    const { agent } = await authorizeAt(b.url, { clientId: 'portal', secret: SECRET, redirectUri: PORTAL_CB, extra: { ui_locales: locale } });
    const done = await mobileId(agent, citizen);
    assert.equal(done.status, 200, done.text);
    assert.doesNotMatch(done.text, /callback\?code=/);
    // nothing is left to finish: no login, the form again
    const again = await agent.get('/auth/mid/finish');
    assert.equal(again.status, 303);
    assert.equal(new URL(again.location).pathname, '/auth/mid');
    return done;
  }

  /** The lines broker b logged since mark (its error log's length then). */
  const logSince = (b, mark) => b.errorLog().slice(mark);

  test('REVOKED_CERTIFICATE: "revoked" in the citizen\'s language, no login; the log says why, without personal data', async () => {
    const citizen = citizenByOutcome('REVOKED_CERTIFICATE');
    const mark = broker.errorLog().length;
    const done = await refused(broker, citizen);
    assert.match(elementText(done.text, 'error'), /Mobile-ID certificate has been revoked/);
    assert.match(done.text, /id="try-again"/);
    const log = logSince(broker, mark);
    assert.match(log, /mobile_id: answer refused: the certificate is revoked \(keyCompromise\)/);
    assert.ok(!log.includes(citizen.personalCode) && !log.includes(citizen.phone), 'no personal data in the log');
    const et = await refused(broker, citizen, 'et');
    assert.match(elementText(et.text, 'error'), /Mobiil-ID sertifikaat on tühistatud/);
  });

  test('the responder down: "cannot be checked now, try again later", no login; up again: the same citizen logs in', async () => {
    const citizen = citizenByOutcome('OK');
    await sim.setOcspRunning(false);
    try {
      const mark = broker.errorLog().length;
      const done = await refused(broker, citizen);
      assert.match(elementText(done.text, 'error'), /validity of your Mobile-ID certificate cannot be checked right now\. Please try again later/);
      assert.match(logSince(broker, mark), /mobile_id: answer refused: revocation cannot be checked: the OCSP responder did not answer/);
    } finally {
      await sim.setOcspRunning(true);
    }
    const { callback } = await mobileIdLogin({}, citizen);
    assert.ok(callback.searchParams.get('code'), 'logged in once the responder answers again');
  });

  describe('other settings', () => {
    let stalled, stalledUrl, sockets = [], slow, off;
    before(async () => {
      // a responder that takes connections and never answers
      stalled = net.createServer((socket) => { sockets.push(socket); socket.on('error', () => {}); });
      const port = await freePort();
      await new Promise((resolve) => stalled.listen(port, '127.0.0.1', resolve));
      stalledUrl = `http://127.0.0.1:${port}/`;
      const portal = { client_id: 'portal', client_secret_sha256: sha256hex(SECRET), redirect_uris: [PORTAL_CB], display_name: 'City portal',
        policy: 'basic', subject_type: 'pairwise' };
      const rate = { per_person: 50, per_phone: 50, per_client_address: 1000, window_seconds: 60 };
      [slow, off] = await Promise.all([
        startBroker({ store: redis.url, broker: { relying_parties: [portal],
          backends: { mobile_id: mobileIdSettings(sim, { rate_limit: rate, ocsp: { url: stalledUrl, timeout_ms: 1000 } }) } } }),
        startBroker({ store: redis.url, broker: { relying_parties: [portal],
          backends: { mobile_id: mobileIdSettings(sim, { rate_limit: rate, ocsp: false }) } } }),
      ]);
    });
    after(async () => {
      await slow?.stop();
      await off?.stop();
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => stalled?.close(resolve) ?? resolve());
    });

    test('a configured url overrides the certificate\'s: a responder that never answers is cut off at timeout_ms, no login', async () => {
      const mark = slow.errorLog().length;
      const t0 = Date.now();
      const done = await refused(slow, citizenByOutcome('OK'));
      assert.ok(sockets.length >= 1, 'the configured URL was called, not the certificate\'s');
      assert.ok(Date.now() - t0 < 8000, `refused in ${Date.now() - t0} ms`);
      assert.match(elementText(done.text, 'error'), /cannot be checked right now/);
      assert.match(logSince(slow, mark), /revocation cannot be checked: the OCSP responder did not answer: Timeout was reached/);
    });

    test('"ocsp": false switches the check off, with a warning when the configuration is loaded', async () => {
      // warnings of the configuration's load go to nginx's stderr (before its error log is open)
      const startup = fs.readFileSync(path.join(off.dir, 'nginx.out'), 'utf8') + off.errorLog();
      assert.match(startup, /"level":"warn".*\$\.backends\.mobile_id: \\"ocsp\\": false: the revocation of Mobile-ID certificates is NOT checked/);
      const { callback } = await loginAt(off.url, { clientId: 'portal', secret: SECRET, redirectUri: PORTAL_CB }, citizenByOutcome('REVOKED_CERTIFICATE'));
      assert.ok(callback.searchParams.get('code'), 'without the check a revoked certificate gets in: only for tests');
    });
  });
});
