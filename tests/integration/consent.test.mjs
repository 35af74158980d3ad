// The consent screen: when a requester's policy asks for consent, the
// citizen sees exactly what goes to whom before anything is released, and
// allows or denies. The policy is changed through the admin API, as an
// administrator would.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, test } from 'node:test';
import * as oidc from 'openid-client';
import { hiddenField } from '../lib/agent.mjs';
import { mobileIdSettings, passwordHash, policyDirectory, startBroker, startMobileIdSim, startRedis } from '../lib/harness.mjs';
import { authorize, mobileId } from '../lib/oidc-flow.mjs';
import { citizenByOutcome } from '../sim/mobile-id.mjs';

const SECRET = 'youth-secret-' + crypto.randomBytes(6).toString('hex');
const CB = 'http://127.0.0.1:9/youth';
let redis, sim, broker;

before(async () => {
  redis = await startRedis();
  sim = await startMobileIdSim({ delayMs: 0 });
  broker = await startBroker({
    store: redis.url,
    broker: {
      relying_parties: [{ client_id: 'youth', client_secret_sha256: crypto.createHash('sha256').update(SECRET).digest('hex'),
        redirect_uris: [CB], display_name: { en: 'Youth services', et: 'Noorteteenused' }, policy: 'age-only' }],
      backends: { mobile_id: mobileIdSettings(sim) },
      policy_dir: policyDirectory(),
      admin: { accounts: [{ user: 'ed', password_hash: passwordHash('ed-password-1'), role: 'editor' }] },
    },
  });
  // an editor turns consent on for the youth portal
  const headers = { 'content-type': 'application/json', origin: broker.url };
  const login = await fetch(`${broker.url}/admin/api/login`, { method: 'POST', headers, body: JSON.stringify({ user: 'ed', password: 'ed-password-1' }) });
  assert.equal(login.status, 200);
  const { csrf } = await login.json();
  const cookie = login.headers.getSetCookie()[0].split(';')[0];
  const saved = await fetch(`${broker.url}/admin/api/policy?name=youth`, {
    method: 'POST', headers: { ...headers, cookie, 'x-csrf-token': csrf },
    body: JSON.stringify({ document: { profile: 'age-only', consent: true }, why: 'ask the citizen first', base_version: 0 }),
  });
  assert.equal(saved.status, 201, await saved.text());
  await new Promise((r) => setTimeout(r, 1100)); // every worker sees the new version within a second
});
after(async () => { await broker?.stop(); await sim?.stop(); await redis?.stop(); });

async function toConsent(locale = 'en') {
  const flow = await authorize(broker.url, { clientId: 'youth', secret: SECRET, redirectUri: CB, scope: 'openid age_over_18', extra: { ui_locales: locale } });
  await flow.agent.get('/login');
  const done = await mobileId(flow.agent, citizenByOutcome('OK'));
  assert.equal(done.status, 303);
  assert.equal(new URL(done.location).pathname, '/consent', 'nothing released before consent');
  const page = await flow.agent.get('/consent');
  assert.equal(page.status, 200);
  return { ...flow, page };
}

test('the citizen sees what goes to whom, allows, and the portal gets exactly that', async () => {
  const { config, verifier, state, nonce, agent, page } = await toConsent();
  assert.match(page.text, /id="consent-requester">Youth services</);
  assert.match(page.text, /data-attribute="age_over_18">Whether you are at least this old: 18: <strong>yes<\/strong>/);
  assert.doesNotMatch(page.text, /data-attribute="(given_name|date_of_birth)"/);
  const allowed = await agent.post('/consent', { csrf: hiddenField(page.text, 'csrf'), decision: 'allow' });
  assert.equal(allowed.status, 303);
  const tokens = await oidc.authorizationCodeGrant(config, new URL(allowed.location), { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce });
  const claims = tokens.claims();
  assert.equal(claims.age_over_18, true);
  assert.equal(claims.birthdate, undefined);
  assert.equal(claims.given_name, undefined);
});

test('denying sends access_denied and no code', async () => {
  const { agent, page } = await toConsent('et');
  assert.match(page.text, /Noorteteenused/);
  const denied = await agent.post('/consent', { csrf: hiddenField(page.text, 'csrf'), decision: 'deny' });
  const back = new URL(denied.location);
  assert.equal(back.searchParams.get('error'), 'access_denied');
  assert.equal(back.searchParams.get('code'), null);
});

test('a consent form without its CSRF token is refused and releases nothing', async () => {
  const { agent, page } = await toConsent();
  const forged = await agent.post('/consent', { decision: 'allow' });
  assert.equal(forged.status, 403);
  assert.equal(forged.location, null);
  // the real form still works afterwards
  const allowed = await agent.post('/consent', { csrf: hiddenField(page.text, 'csrf'), decision: 'allow' });
  assert.equal(allowed.status, 303);
  assert.ok(new URL(allowed.location).searchParams.get('code'));
});
