// With the embedded store, requests that wait only for the store run on
// nginx's event loop, not in the thread pool (broker/dispatch.c: STORE;
// eh_broker_blocking): a whole OIDC + Mobile-ID login works that way with
// one worker, and while the pool's only thread is held by a Mobile-ID call
// that never gets an answer, the same worker keeps answering /authorize,
// /login and the Mobile-ID form at once, where a request that needs the pool
// (/healthz) waits for the thread.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import * as oidc from 'openid-client';
import { Agent, hiddenField } from '../lib/agent.mjs';
import {
  freePort, mobileIdSettings, startBroker, startMobileIdSim,
} from '../lib/harness.mjs';
import { login } from '../lib/oidc-flow.mjs';
import { citizenByOutcome } from '../sim/mobile-id.mjs';

const SECRET = 'portal-secret-' + crypto.randomBytes(8).toString('hex');
const CB = 'http://127.0.0.1:9/callback';
const PORTAL = {
  client_id: 'portal', client_secret_sha256: crypto.createHash('sha256').update(SECRET).digest('hex'),
  redirect_uris: [CB], display_name: 'City portal', policy: 'basic', subject_type: 'pairwise',
};
const STALL_MS = 3000; // how long the stalled Mobile-ID call holds the pool's thread

let sim, broker, stalledBroker, stalled;
const sockets = new Set();

/**
 * nginx with the module, one worker, the embedded store and a thread pool of
 * one thread for eidhub (`thread_pool` in nginx's main context).
 */
const startOneThreadBroker = (brokerCfg) => startBroker({
  store: 'shm://?size=8m', workers: 1, broker: brokerCfg,
  extraMain: 'thread_pool eh_one threads=1;', extraHttp: 'eidhub_thread_pool eh_one;',
});

before(async () => {
  sim = await startMobileIdSim({ delayMs: 300 });
  broker = await startBroker({
    store: 'shm://?size=8m',
    workers: 1,
    broker: { relying_parties: [PORTAL], backends: { mobile_id: mobileIdSettings(sim) } },
  });
  const port = await freePort();
  stalled = net.createServer((s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  await new Promise((resolve) => stalled.listen(port, '127.0.0.1', resolve));
  stalledBroker = await startOneThreadBroker({
    relying_parties: [PORTAL],
    backends: {
      mobile_id: {
        url: `http://127.0.0.1:${port}/mid-api`, relying_party_uuid: '00000000-0000-0000-0000-000000000000',
        relying_party_name: 'DEMO', trusted_ca_files: [sim.caFile], request_timeout_ms: STALL_MS,
      },
    },
  });
});
after(async () => {
  for (const s of sockets) s.destroy();
  stalled?.close();
  await stalledBroker?.stop(); await broker?.stop(); await sim?.stop();
});

/** The time agent takes to get url, and the answer. */
async function timed(agent, url) {
  const t0 = performance.now();
  const r = await agent.get(url);
  return { ms: performance.now() - t0, r };
}

const authorizeUrl = (challenge) => `/authorize?client_id=portal&redirect_uri=${encodeURIComponent(CB)}`
  + `&response_type=code&scope=openid%20profile&state=s&nonce=n&code_challenge=${challenge}&code_challenge_method=S256`;

describe('the embedded store, one worker', () => {
  test('a whole OIDC + Mobile-ID login works with the store requests on the event loop', async () => {
    const citizen = citizenByOutcome('OK');
    const { config, verifier, state, nonce, callback, agent } = await login(broker.url,
      { clientId: 'portal', secret: SECRET, redirectUri: CB }, citizen);
    const tokens = await oidc.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true,
    });
    const claims = tokens.claims();
    assert.equal(claims.iss, broker.url);
    assert.equal(claims.aud, 'portal');
    assert.deepEqual(claims.amr, ['mID']);
    assert.notEqual(claims.sub, `EE${citizen.personalCode}`, 'pairwise subject');
    const info = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);
    assert.equal(info.sub, claims.sub);
    assert.ok(info.family_name);
    // the code is single-use, on the event loop too
    await assert.rejects(oidc.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce,
    }), (e) => e.error === 'invalid_grant');
    // the single sign-on confirmation and the citizen's own page (also on the loop)
    const again = await agent.get(authorizeUrl('E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM'));
    assert.equal(again.status, 303);
    assert.equal(new URL(again.location).pathname, '/sso');
    const sso = await agent.get('/sso');
    assert.equal(sso.status, 200);
    assert.match(sso.text, /id="sso-continue"/);
    const me = await agent.get('/me');
    assert.equal(me.status, 200);
    assert.match(me.text, /id="releases"/);
    assert.match(me.text, /City portal/);
  });

  test('while a Mobile-ID call holds the only pool thread, /authorize and /login answer at once', async () => {
    const challenge = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';
    const citizen = citizenByOutcome('OK');
    const first = new Agent(stalledBroker.url);
    assert.equal((await first.get(authorizeUrl(challenge))).status, 303);
    const form = await first.get('/auth/mid');
    assert.equal(form.status, 200);
    let finished = false;
    const pending = first.post('/auth/mid', { csrf: hiddenField(form.text, 'csrf'), phone: citizen.phone, personal_code: citizen.personalCode })
      .then((r) => { finished = true; return r; });
    for (let i = 0; i < 100 && sockets.size === 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(sockets.size >= 1, 'the broker called the stalled Mobile-ID service');

    // a request that needs the pool queues behind the stalled call ...
    const health = timed(new Agent(stalledBroker.url), '/healthz');
    // ... while other citizens' store-only requests are answered on the event loop
    for (let i = 0; i < 5; i++) {
      const other = new Agent(stalledBroker.url);
      const a = await timed(other, authorizeUrl(challenge));
      assert.equal(a.r.status, 303, a.r.text);
      assert.ok(a.ms < 1000, `/authorize took ${a.ms.toFixed(0)} ms`);
      const l = await timed(other, '/login');
      assert.equal(l.r.status, 200);
      assert.ok(l.ms < 1000, `/login took ${l.ms.toFixed(0)} ms`);
      const f = await timed(other, '/auth/mid');
      assert.equal(f.r.status, 200);
      assert.ok(f.ms < 1000, `/auth/mid took ${f.ms.toFixed(0)} ms`);
    }
    assert.equal(finished, false, 'the Mobile-ID call was still pending meanwhile');

    const h = await health;
    assert.equal(h.r.status, 200);
    assert.ok(h.ms > 1000, `/healthz runs in the pool and waited for its thread (${h.ms.toFixed(0)} ms)`);
    const r = await pending;
    assert.equal(r.status, 502);
    assert.match(r.text, /Mobile-ID service is not available right now/);
  });
});
