// Single sign-on, logout and "My eidhub" over real HTTP: a citizen logs in
// to portal A with Mobile-ID, is taken back at portal B after confirming who
// asks, sees both releases on their own page, and one RP-initiated logout
// ends both (each portal receives a signed back-channel logout token).
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import * as jose from 'jose';
import * as oidc from 'openid-client';
import { hiddenField } from '../lib/agent.mjs';
import { freePort, mobileIdSettings, startBroker, startMobileIdSim, startRedis } from '../lib/harness.mjs';
import { authorize, mobileId } from '../lib/oidc-flow.mjs';
import { citizenByOutcome } from '../sim/mobile-id.mjs';

const sha256hex = (s) => crypto.createHash('sha256').update(s).digest('hex');
const A = { clientId: 'portal-a', secret: 'secret-a-0123456789', redirectUri: 'http://127.0.0.1:9/a', bye: 'http://127.0.0.1:9/a/bye' };
const B = { clientId: 'portal-b', secret: 'secret-b-0123456789', redirectUri: 'http://127.0.0.1:9/b', bye: 'http://127.0.0.1:9/b/bye' };
let redis, sim, broker, backchannel, received = [];

before(async () => {
  const port = await freePort();
  backchannel = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => { received.push({ path: req.url, type: req.headers['content-type'], body }); res.writeHead(200).end(); });
  });
  await new Promise((r) => backchannel.listen(port, '127.0.0.1', r));
  redis = await startRedis();
  sim = await startMobileIdSim({ delayMs: 0 });
  const rp = (p, name, policy, subject) => ({
    client_id: p.clientId, client_secret_sha256: sha256hex(p.secret), redirect_uris: [p.redirectUri],
    post_logout_redirect_uris: [p.bye], display_name: { en: name }, policy, subject_type: subject,
    backchannel_logout_uri: `http://127.0.0.1:${port}/logout/${p.clientId}`,
  });
  broker = await startBroker({
    store: redis.url,
    broker: {
      relying_parties: [rp(A, 'Portal A', 'basic', 'pairwise'), rp(B, 'Portal B', 'full', 'public')],
      backends: { mobile_id: mobileIdSettings(sim) },
    },
  });
});
after(async () => { backchannel?.close(); await broker?.stop(); await sim?.stop(); await redis?.stop(); });

const start = (p, agent, extra = {}) => authorize(broker.url, { clientId: p.clientId, secret: p.secret, redirectUri: p.redirectUri, extra, agent });
const grant = (f, location) => oidc.authorizationCodeGrant(f.config, new URL(location), { pkceCodeVerifier: f.verifier, expectedState: f.state, expectedNonce: f.nonce });

describe('single sign-on and logout', () => {
  let agent, tokensA, tokensB;

  test('a second portal gets the citizen back after they confirm who asks', async () => {
    const fa = await start(A);
    agent = fa.agent;
    assert.equal(new URL(fa.first.location).pathname, '/login');
    await agent.get('/login');
    const done = await mobileId(agent, citizenByOutcome('OK'));
    tokensA = await grant(fa, done.location);
    assert.ok(tokensA.claims().sid, 'the ID token carries the session id');

    const fb = await start(B, agent);
    assert.equal(new URL(fb.first.location).pathname, '/sso', 'no new Mobile-ID prompt');
    const page = await agent.get('/sso');
    assert.match(page.text, /id="sso-requester">Portal B</);
    assert.match(page.text, /id="sso-method">Mobile-ID</);
    const cont = await agent.post('/sso', { csrf: hiddenField(page.text, 'csrf'), decision: 'continue' });
    assert.equal(cont.status, 303);
    tokensB = await grant(fb, cont.location);
    assert.equal(tokensB.claims().sid, tokensA.claims().sid);
    assert.equal(tokensB.claims().sub, `EE${citizenByOutcome('OK').personalCode}`);
    assert.equal(tokensB.claims().amr[0], 'mID');
  });

  test('the SSO confirmation without its CSRF token is refused and releases nothing', async () => {
    await start(B, agent);
    const forged = await agent.post('/sso', { decision: 'continue' });
    assert.equal(forged.status, 403);
    assert.equal(forged.location, null);
  });

  test('ending the sessions from another origin is refused', async () => {
    const forged = await agent.post('/me/logout', {}, { headers: { origin: 'http://evil.example' } });
    assert.equal(forged.status, 403);
    assert.equal((await agent.get('/me')).text.includes('id="releases"'), true, 'the session is still there');
  });

  test('the citizen may refuse the session and log in anew; prompt=login and prompt=none behave', async () => {
    const fb = await start(B, agent);
    const page = await agent.get('/sso');
    const other = await agent.post('/sso', { csrf: hiddenField(page.text, 'csrf'), decision: 'other' });
    assert.equal(new URL(other.location).pathname, '/login');
    const forced = await start(B, agent, { prompt: 'login' });
    assert.equal(new URL(forced.first.location).pathname, '/login');
    const none = await start(B, agent, { prompt: 'none' });
    assert.equal(new URL(none.first.location).searchParams.get('error'), 'interaction_required');
    assert.ok(fb);
  });

  test('"My eidhub" lists both releases by attribute name, never value', async () => {
    const me = await agent.get('/me');
    assert.equal(me.status, 200);
    const rows = me.text.match(/<tr><td>/g) ?? [];
    assert.equal(rows.length, 2);
    assert.match(me.text, /Portal A/);
    assert.match(me.text, /Portal B/);
    assert.match(me.text, /given_name, family_name/);
    assert.doesNotMatch(me.text, /60001019906/, 'no national id on the page');
    assert.doesNotMatch(me.text, /2000-01-01/, 'no birth date value');
  });

  test('an unregistered post_logout_redirect_uri or a forged hint is refused', async () => {
    const hint = tokensA.id_token;
    const bad = await agent.get(`/logout?id_token_hint=${hint}&post_logout_redirect_uri=${encodeURIComponent('http://127.0.0.1:9/evil')}`);
    assert.equal(bad.status, 400);
    assert.equal(bad.location, null);
    // SECURITY.md: "Return addresses like ///evil, /\evil, http:evil → rejected"
    for (const evil of ['///evil.example/', '/\\evil.example/', 'http:evil.example/']) {
      const r = await agent.get(`/logout?id_token_hint=${hint}&post_logout_redirect_uri=${encodeURIComponent(evil)}`);
      assert.equal(r.status, 400, evil);
      assert.equal(r.location, null, evil);
    }
    const forged = hint.slice(0, -4) + (hint.endsWith('AAAA') ? 'BBBB' : 'AAAA');
    const bad2 = await agent.get(`/logout?id_token_hint=${forged}&post_logout_redirect_uri=${encodeURIComponent(A.bye)}`);
    assert.equal(bad2.status, 400);
    assert.equal(received.length, 0, 'nothing was logged out');
  });

  test('logout at one portal ends both, with signed back-channel logout tokens', async () => {
    const out = await agent.get(`/logout?id_token_hint=${tokensA.id_token}&post_logout_redirect_uri=${encodeURIComponent(A.bye)}&state=st-1`);
    assert.equal(out.status, 303);
    const back = new URL(out.location);
    assert.equal(back.origin + back.pathname, A.bye);
    assert.equal(back.searchParams.get('state'), 'st-1');
    assert.deepEqual(received.map((r) => r.path).sort(), ['/logout/portal-a', '/logout/portal-b']);
    const jwks = jose.createRemoteJWKSet(new URL(`${broker.url}/jwks`));
    for (const r of received) {
      assert.match(r.type, /application\/x-www-form-urlencoded/);
      const token = new URLSearchParams(r.body).get('logout_token');
      const { payload, protectedHeader } = await jose.jwtVerify(token, jwks, { issuer: broker.url });
      assert.equal(protectedHeader.typ, 'logout+jwt');
      assert.equal(payload.sid, tokensA.claims().sid);
      assert.ok(payload.jti);
      assert.equal(payload.nonce, undefined);
      assert.deepEqual(payload.events, { 'http://schemas.openid.net/event/backchannel-logout': {} });
      assert.equal(payload.aud, r.path.split('/').pop());
    }
    const again = await start(B, agent);
    assert.equal(new URL(again.first.location).pathname, '/login', 'the session is gone');
    const me = await agent.get('/me');
    assert.doesNotMatch(me.text, /id="releases"/);
  });
});
