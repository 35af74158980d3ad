// Cross-border eIDAS between two eidhub instances over real HTTP through real
// nginx: broker A (country LV) is the Connector of a municipal portal; broker
// B (country EE) is the Proxy-Service of another country whose citizens log
// in with Mobile-ID (the simulator). Each trusts the other through signed
// metadata fetched from the other's URL. A signs with ECDSA, B with
// RSASSA-PSS; B's assertions are AES-256-GCM encrypted for A.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import * as jose from 'jose';
import * as oidc from 'openid-client';
import { Agent, hiddenField } from '../lib/agent.mjs';
import { freePort, mobileIdSettings, startBroker, startMobileIdSim, startRedis, tmpdir } from '../lib/harness.mjs';
import { authorize, mobileId } from '../lib/oidc-flow.mjs';
import { samlForm, samlNode } from '../lib/saml-node.mjs';
import { citizenByOutcome } from '../sim/mobile-id.mjs';

const SECRET = 'portal-secret-' + crypto.randomBytes(8).toString('hex');
const sha256hex = (s) => crypto.createHash('sha256').update(s).digest('hex');
const PORTAL_CB = 'http://127.0.0.1:9/callback';
const YOUTH_CB = 'http://127.0.0.1:9/youth';

let redis, sim, a, b;

before(async () => {
  redis = await startRedis();
  sim = await startMobileIdSim({ delayMs: 100 });
  const dirA = tmpdir('eidhub-a-'), dirB = tmpdir('eidhub-b-');
  const portA = await freePort(), portB = await freePort();
  const urlA = `http://127.0.0.1:${portA}`, urlB = `http://127.0.0.2:${portB}`;
  const nodeA = await samlNode(dirA, 'LV', { signing: 'ec' });
  const nodeB = await samlNode(dirB, 'EE', { signing: 'rsa' });
  a = await startBroker({
    dir: dirA, port: portA, store: redis.url,
    broker: {
      saml: nodeA.settings,
      relying_parties: [
        { client_id: 'portal', client_secret_sha256: sha256hex(SECRET), redirect_uris: [PORTAL_CB],
          display_name: 'City portal', policy: 'full', subject_type: 'public' },
        { client_id: 'youth', client_secret_sha256: sha256hex(SECRET), redirect_uris: [YOUTH_CB],
          display_name: 'Youth services', policy: 'age-only', sp_type: 'public' },
      ],
      backends: {
        eidas_connector: {
          countries: [{ country: 'EE', metadata: `${urlB}/saml/proxy/metadata`, trust_anchor_file: nodeB.signingCert,
            display_name: { en: 'Estonia', et: 'Eesti' } }],
        },
      },
    },
  });
  b = await startBroker({
    dir: dirB, port: portB, host: '127.0.0.2', store: redis.url,
    broker: {
      saml: nodeB.settings,
      backends: { mobile_id: mobileIdSettings(sim) },
      eidas_proxy: {
        connectors: [{ id: 'lv', metadata: `${urlA}/saml/connector/metadata`, trust_anchor_file: nodeA.signingCert,
          policy: 'full', display_name: 'Latvia' }],
      },
    },
  });
});
after(async () => { await a?.stop(); await b?.stop(); await sim?.stop(); await redis?.stop(); });

/**
 * A foreign citizen's way from the portal at A to B's Mobile-ID and back:
 * returns what A finally answers (the redirect to the portal, or a page),
 * and the agents (one per broker: a browser keeps cookies per host).
 */
async function crossBorder({ clientId = 'portal', redirectUri = PORTAL_CB, citizen = citizenByOutcome('OK'), tamper } = {}) {
  const flow = await authorize(a.url, { clientId, secret: SECRET, redirectUri, scope: 'openid profile' });
  assert.equal(flow.first.status, 303, flow.first.text);
  const login = await flow.agent.get('/login');
  assert.match(login.text, /href="\/auth\/eidas\?country=EE"/, 'Estonia is offered');
  const start = await flow.agent.get('/auth/eidas?country=EE');
  assert.equal(start.status, 200, start.text);
  const request = samlForm(start.text);
  assert.equal(request.action, `${b.url}/saml/proxy/sso`);
  const agentB = new Agent(b.url);
  const sso = await agentB.post(request.action, request.fields);
  assert.equal(sso.status, 303, sso.text);
  await agentB.get('/login');
  const answer = await mobileId(agentB, citizen);
  assert.equal(answer.status, 200, answer.text);
  const response = samlForm(answer.text);
  assert.equal(response.action, `${a.url}/auth/eidas/acs`);
  if (tamper) tamper(response.fields);
  const acs = await new Agent(a.url).post(response.action, response.fields); // cross-site: no cookie
  if (acs.status !== 303) return { ...flow, done: acs, response };
  const done = await flow.agent.get(acs.location);
  return { ...flow, done, response, acs };
}

describe('a citizen of another country logs in to the portal through their own eIDAS node', () => {
  test('the portal receives the identity the foreign node asserted, at its level', async () => {
    const citizen = citizenByOutcome('OK');
    const { config, verifier, state, nonce, done } = await crossBorder({ citizen });
    assert.equal(done.status, 303, done.text);
    assert.ok(done.location.startsWith(PORTAL_CB + '?'), done.location);
    const tokens = await oidc.authorizationCodeGrant(config, new URL(done.location), {
      pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true,
    });
    const claims = tokens.claims();
    assert.deepEqual(claims.amr, ['eidas']);
    assert.equal(claims.acr, 'high');
    assert.equal(claims.sub, `EE${citizen.personalCode}`, 'PersonIdentifier EE/LV/<id> becomes the subject');
    const info = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);
    assert.equal(info.birthdate, citizen.dateOfBirth);
    assert.equal(info.family_name.toUpperCase(), citizen.surname.toUpperCase());
    assert.equal(info.given_name.toUpperCase(), citizen.givenName.toUpperCase());
  });

  test('an age-only portal learns the age, never the birth date or name', async () => {
    const { config, verifier, state, nonce, done } = await crossBorder({ clientId: 'youth', redirectUri: YOUTH_CB });
    assert.equal(done.status, 303, done.text);
    const tokens = await oidc.authorizationCodeGrant(config, new URL(done.location), {
      pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true,
    });
    const info = await oidc.fetchUserInfo(config, tokens.access_token, tokens.claims().sub);
    assert.equal(info.age_over_18, true);
    assert.equal(info.birthdate, undefined);
    assert.equal(info.family_name, undefined);
  });

  test('the same response posted twice is refused the second time', async () => {
    const first = await crossBorder();
    assert.equal(first.done.status, 303);
    const again = await new Agent(a.url).post(`${a.url}/auth/eidas/acs`, first.response.fields);
    assert.equal(again.status, 303);
    const used = await first.agent.get(again.location);
    assert.equal(used.status, 400, 'the transaction is over and the assertion was seen');
    assert.doesNotMatch(used.text, /\/callback\?code=/);
  });

  test('a response changed on the way is refused with a clear page, and the citizen may try again', async () => {
    const { done, agent } = await crossBorder({
      tamper: (f) => {
        const xml = Buffer.from(f.SAMLResponse, 'base64').toString('utf8');
        f.SAMLResponse = Buffer.from(xml.replace('InResponseTo="', 'InResponseTo="x')).toString('base64');
      },
    });
    assert.equal(done.status, 400, done.text);
    assert.match(done.text, /id="error"/);
    assert.match(done.text, /id="try-again"/);
    const again = await agent.get('/auth/eidas?country=EE');
    assert.equal(again.status, 200, 'the transaction is still there');
  });

  test('a citizen who cancels at the foreign node sees why, and can try again', async () => {
    const flow = await authorize(a.url, { clientId: 'portal', secret: SECRET, redirectUri: PORTAL_CB, scope: 'openid profile' });
    await flow.agent.get('/login');
    const request = samlForm((await flow.agent.get('/auth/eidas?country=EE')).text);
    const agentB = new Agent(b.url);
    assert.equal((await agentB.post(request.action, request.fields)).status, 303);
    const loginB = await agentB.get('/login');
    const cancelled = await agentB.post('/cancel', { csrf: hiddenField(loginB.text, 'csrf') });
    assert.equal(cancelled.status, 200, cancelled.text);
    const response = samlForm(cancelled.text);
    const xml = Buffer.from(response.fields.SAMLResponse, 'base64').toString('utf8');
    assert.match(xml, /status:RequestDenied/);
    assert.doesNotMatch(xml, /EncryptedAssertion/);
    const acs = await new Agent(a.url).post(response.action, response.fields);
    const page = await flow.agent.get(acs.location);
    assert.equal(page.status, 200);
    assert.match(page.text, /cancelled at your country/);
    assert.match(page.text, /id="try-again"/);
    assert.equal((await flow.agent.get('/auth/eidas?country=EE')).status, 200, 'the login can start again');
  });

  test('a response arriving for no login of this browser goes nowhere', async () => {
    const { response } = await crossBorder({ tamper: () => {} });
    const stranger = new Agent(a.url);
    const acs = await stranger.post(`${a.url}/auth/eidas/acs`, response.fields);
    assert.equal(acs.status, 303);
    const page = await stranger.get(acs.location);
    assert.equal(page.status, 400);
  });

  test('both nodes publish signed metadata naming their country', async () => {
    const ma = await fetch(`${a.url}/saml/connector/metadata`);
    assert.equal(ma.status, 200);
    const ta = await ma.text();
    assert.match(ta, /entityID="http:\/\/127\.0\.0\.1:\d+\/saml\/connector\/metadata"/);
    assert.match(ta, /NodeCountry>LV</);
    assert.match(ta, /SignatureValue/);
    assert.match(ta, /validUntil="/);
    const mb = await fetch(`${b.url}/saml/proxy/metadata`);
    const tb = await mb.text();
    assert.match(tb, /NodeCountry>EE</);
    assert.match(tb, /sha512-rsa-MGF1/);
  });

  test('/metrics shows how old the metadata of each peer is', async () => {
    const ma = await (await fetch(`${a.url}/metrics`)).text();
    assert.match(ma, /^eidhub_saml_metadata_age_seconds\{peer="EE",role="proxy_service"\} -?\d+$/m);
    const mb = await (await fetch(`${b.url}/metrics`)).text();
    assert.match(mb, /^eidhub_saml_metadata_age_seconds\{peer="lv",role="connector"\} -?\d+$/m);
  });
});

// SAML Single Logout (SOAP binding) between the two nodes: each publishes a
// SOAP SingleLogoutService in its metadata, so a logout at either end ends
// the citizen's session at the other. Its own pair of brokers, whose portal
// registers a back-channel logout receiver.
describe('single logout between the nodes (SAML SOAP binding)', () => {
  const SLO_CB = 'http://127.0.0.1:9/slo-portal';
  const SLO_BYE = 'http://127.0.0.1:9/slo-portal/bye';
  let sa, sb, receiver, received = [];

  before(async () => {
    const rport = await freePort();
    receiver = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => { body += c; });
      req.on('end', () => { received.push({ path: req.url, body }); res.writeHead(200).end(); });
    });
    await new Promise((r) => receiver.listen(rport, '127.0.0.1', r));
    const dirA = tmpdir('eidhub-slo-a-'), dirB = tmpdir('eidhub-slo-b-');
    const portA = await freePort(), portB = await freePort();
    const urlA = `http://127.0.0.1:${portA}`, urlB = `http://127.0.0.2:${portB}`;
    const nodeA = await samlNode(dirA, 'LV', { signing: 'ec' });
    const nodeB = await samlNode(dirB, 'EE', { signing: 'rsa' });
    sa = await startBroker({
      dir: dirA, port: portA, store: redis.url,
      broker: {
        saml: nodeA.settings,
        relying_parties: [
          { client_id: 'slo-portal', client_secret_sha256: sha256hex(SECRET), redirect_uris: [SLO_CB],
            post_logout_redirect_uris: [SLO_BYE], display_name: 'City portal', policy: 'full', subject_type: 'public',
            backchannel_logout_uri: `http://127.0.0.1:${rport}/backchannel` },
        ],
        backends: {
          eidas_connector: {
            countries: [{ country: 'EE', metadata: `${urlB}/saml/proxy/metadata`, trust_anchor_file: nodeB.signingCert }],
          },
        },
      },
    });
    sb = await startBroker({
      dir: dirB, port: portB, host: '127.0.0.2', store: redis.url,
      broker: {
        saml: nodeB.settings,
        sso: { enabled: true },
        // the same citizen logs in again and again in this file (one Redis)
        backends: { mobile_id: { ...mobileIdSettings(sim), rate_limit: { per_person: 100, per_phone: 100, per_client_address: 1000 } } },
        eidas_proxy: {
          connectors: [{ id: 'lv', metadata: `${urlA}/saml/connector/metadata`, trust_anchor_file: nodeA.signingCert,
            policy: 'full', display_name: 'Latvia' }],
        },
      },
    });
  });
  after(async () => { receiver?.close(); await sa?.stop(); await sb?.stop(); });

  /** A cross-border login at sa through sb: the portal's tokens and both agents. */
  async function login() {
    const flow = await authorize(sa.url, { clientId: 'slo-portal', secret: SECRET, redirectUri: SLO_CB, scope: 'openid profile' });
    assert.equal(flow.first.status, 303, flow.first.text);
    await flow.agent.get('/login');
    const request = samlForm((await flow.agent.get('/auth/eidas?country=EE')).text);
    const agentB = new Agent(sb.url);
    assert.equal((await agentB.post(request.action, request.fields)).status, 303);
    await agentB.get('/login');
    const answer = await mobileId(agentB, citizenByOutcome('OK'));
    const response = samlForm(answer.text);
    const acs = await new Agent(sa.url).post(response.action, response.fields);
    const done = await flow.agent.get(acs.location);
    assert.equal(done.status, 303, done.text);
    const tokens = await oidc.authorizationCodeGrant(flow.config, new URL(done.location), {
      pkceCodeVerifier: flow.verifier, expectedState: flow.state, expectedNonce: flow.nonce, idTokenExpected: true,
    });
    assert.ok(tokens.claims().sid, 'the portal got a session id');
    return { agentA: flow.agent, agentB, tokens };
  }
  const hasSession = async (agent) => (await agent.get('/me')).text.includes('id="end-sessions"');

  test('both nodes publish a SOAP SingleLogoutService', async () => {
    const ta = await (await fetch(`${sa.url}/saml/connector/metadata`)).text();
    assert.match(ta, new RegExp(`SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:SOAP" Location="${sa.url}/saml/connector/slo"`));
    const tb = await (await fetch(`${sb.url}/saml/proxy/metadata`)).text();
    assert.match(tb, new RegExp(`SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:SOAP" Location="${sb.url}/saml/proxy/slo"`));
  });

  test('a logout at the portal ends the citizen\'s session at their own node too', async () => {
    const { agentA, agentB, tokens } = await login();
    assert.ok(await hasSession(agentB), 'the foreign node holds a session');
    received = [];
    const out = await agentA.get(`/logout?id_token_hint=${tokens.id_token}&post_logout_redirect_uri=${encodeURIComponent(SLO_BYE)}`);
    assert.equal(out.status, 303, out.text);
    assert.ok(out.location.startsWith(SLO_BYE));
    assert.equal(await hasSession(agentB), false, 'the node\'s session is gone');
    assert.equal(await hasSession(agentA), false);
    assert.equal(received.length, 1, 'the portal itself got its back-channel logout once');
  });

  test('a citizen who ends their sessions at their own node is logged out of the portal', async () => {
    const { agentA, agentB, tokens } = await login();
    assert.ok(await hasSession(agentA));
    received = [];
    const ended = await agentB.post('/me/logout', {});
    assert.equal(ended.status, 303, ended.text);
    assert.equal(await hasSession(agentB), false);
    assert.equal(await hasSession(agentA), false, 'the Connector\'s session is gone');
    assert.equal(received.length, 1, 'the portal was told');
    assert.equal(received[0].path, '/backchannel');
    const token = new URLSearchParams(received[0].body).get('logout_token');
    const jwks = jose.createRemoteJWKSet(new URL(`${sa.url}/jwks`));
    const { payload } = await jose.jwtVerify(token, jwks, { issuer: sa.url, audience: 'slo-portal' });
    assert.equal(payload.sid, tokens.claims().sid);
  });

  test('a logout call that is not a signed LogoutRequest of a peer is refused with a SOAP fault', async () => {
    const { agentA, agentB } = await login();
    for (const url of [`${sb.url}/saml/proxy/slo`, `${sa.url}/saml/connector/slo`]) {
      const garbage = await fetch(url, { method: 'POST', headers: { 'content-type': 'text/xml' }, body: '<x/>' });
      assert.equal(garbage.status, 500);
      assert.match(await garbage.text(), /<faultcode>soap:Client<\/faultcode>/);
      const form = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'a=b' });
      assert.equal(form.status, 500);
    }
    assert.ok(await hasSession(agentA), 'nothing was ended');
    assert.ok(await hasSession(agentB));
  });
});
