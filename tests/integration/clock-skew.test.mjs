// Clock skew between eidhub and its peers (issue #8): within the configured
// tolerance (clock_skew_seconds, default 60) a login works; beyond it, it is
// refused with the usual clear page and a log line that names the time check.
//
// eIDAS: a Connector (country LV, right clock) and Proxy-Service nodes of
// other countries, each a real nginx whose clock libfaketime moves (Debian
// package faketime; nginx's workers are forked from the master, so the
// preload stays, and startBroker's `env` keeps FAKETIME for them):
//   EE +30 s, FI -30 s   within the skew: the foreign citizen logs in
//   LT +240 s            its Response's IssueInstant is in the Connector's future: refused there
//   SE -600 s            the AuthnRequest's IssueInstant is in SE's future: SE refuses
// (+240 s, not +5 min: a Proxy-Service refuses a request older than 300 s
// plus the tolerance, so a node 6 minutes ahead refuses the request before
// it answers at all.)
//   DE +400 s, both nodes tolerating 600 s (a second Connector, LU): logs in.
//
// National OpenID Connect provider: the oidc-provider simulator run with its
// clock off (--clock-offset-seconds): +30 s and -30 s log in; +10 min (iat in
// the future) and -2 h (the ID token, valid an hour, has expired) are refused.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import * as oidc from 'openid-client';
import { Agent, elementText } from '../lib/agent.mjs';
import { freePort, mobileIdSettings, startBroker, startMobileIdSim, startRedis, tmpdir } from '../lib/harness.mjs';
import { authorize, mobileId } from '../lib/oidc-flow.mjs';
import { loginAtProvider, nationalProviderSettings, providerAgent, startNationalOidcProcess } from '../lib/oidc-upstream.mjs';
import { samlForm, samlNode } from '../lib/saml-node.mjs';
import { citizenByOutcome } from '../sim/mobile-id.mjs';

const hex = () => crypto.randomBytes(8).toString('hex');
const sha256hex = (s) => crypto.createHash('sha256').update(s).digest('hex');
const SECRET = `portal-secret-${hex()}`;
const PORTAL_CB = 'http://127.0.0.1:9/callback';
const PORTAL = {
  client_id: 'portal', client_secret_sha256: sha256hex(SECRET), redirect_uris: [PORTAL_CB],
  display_name: 'City portal', policy: 'full', subject_type: 'public',
};

/** libfaketime's preload library (Debian: libfaketime, pulled in by faketime), or null. */
function libfaketime() {
  for (const dir of ['/usr/lib', ...fs.readdirSync('/usr/lib').map((d) => path.join('/usr/lib', d))]) {
    const f = path.join(dir, 'faketime', 'libfaketime.so.1');
    if (fs.existsSync(f)) return f;
  }
  return null;
}

/** nginx's environment for a clock offsetS seconds off (negative: behind). */
function clockOff(offsetS) {
  const lib = libfaketime();
  assert.ok(lib, 'libfaketime is not installed (Debian package faketime; ./dev installs it)');
  // a relative offset; monotonic clocks (timeouts) left alone; FAKETIME read
  // again every second (default 10 s), so that a worker that lost it (nginx
  // clears its workers' environment but for `env` names) is caught at once
  return {
    LD_PRELOAD: lib, FAKETIME: `${offsetS >= 0 ? '+' : ''}${offsetS}s`,
    FAKETIME_DONT_FAKE_MONOTONIC: '1', FAKETIME_CACHE_DURATION: '1',
  };
}

/**
 * Seconds between an HTTP Date header or xs:dateTime written by a peer and
 * this process's clock at `at` (when the peer's answer arrived).
 */
const offsetOf = (when, at = Date.now()) => (Date.parse(when) - at) / 1000;
/** Whether a measured offset is the expected one (whole seconds, a busy machine). */
const near = (off, expected) => Math.abs(off - expected) <= 10;

/** A page's text without tags, with the entities our pages use decoded. */
const plain = (html) => html.replace(/<[^>]*>/g, ' ').replace(/&#0*39;/g, "'").replace(/&quot;/g, '"')
  .replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&').replace(/\s+/g, ' ');

/** The lines of a broker's error log written since mark (a length). */
const logSince = (broker, mark) => broker.errorLog().slice(mark);

describe('eIDAS: a Proxy-Service node whose clock is off', () => {
  // country -> offset of that node's clock, in seconds, and the tolerance
  // (clock_skew_seconds) of that node and of the Connector that uses it
  const NODES = {
    EE: { offset: 30, skew: 60 }, FI: { offset: -30, skew: 60 }, LT: { offset: 240, skew: 60 }, SE: { offset: -600, skew: 60 },
    DE: { offset: 400, skew: 600 },
  };
  let redis, sim;
  const connectors = {}; // skew -> the Connector node (right clock) of the nodes with that tolerance
  const nodes = {};

  before(async () => {
    redis = await startRedis();
    sim = await startMobileIdSim({ delayMs: 0 });
    const skews = [...new Set(Object.values(NODES).map((n) => n.skew))];
    const home = {};
    for (const [i, skew] of skews.entries()) {
      const dir = tmpdir('eidhub-a-');
      const port = await freePort();
      home[skew] = { dir, port, url: `http://127.0.0.1:${port}`, node: await samlNode(dir, ['LV', 'LU'][i], { signing: 'ec' }) };
    }
    const peer = {};
    for (const country of Object.keys(NODES)) {
      const dir = tmpdir(`eidhub-${country.toLowerCase()}-`);
      const port = await freePort();
      peer[country] = { dir, port, url: `http://127.0.0.2:${port}`, node: await samlNode(dir, country, { signing: 'ec' }) };
    }
    await Promise.all(skews.map(async (skew) => {
      const { dir, port, node } = home[skew];
      connectors[skew] = await startBroker({
        dir, port, store: redis.url,
        broker: {
          saml: { ...node.settings, clock_skew_seconds: skew },
          relying_parties: [PORTAL],
          backends: {
            eidas_connector: {
              countries: Object.keys(NODES).filter((c) => NODES[c].skew === skew).map((country) => ({
                country, metadata: `${peer[country].url}/saml/proxy/metadata`, trust_anchor_file: peer[country].node.signingCert,
              })),
            },
          },
        },
      });
    }));
    await Promise.all(Object.entries(NODES).map(async ([country, { offset, skew }]) => {
      const { dir, port, node } = peer[country];
      nodes[country] = await startBroker({
        dir, port, host: '127.0.0.2', store: redis.url, env: clockOff(offset),
        broker: {
          saml: { ...node.settings, clock_skew_seconds: skew },
          backends: { mobile_id: mobileIdSettings(sim) },
          eidas_proxy: {
            connectors: [{ id: 'home', metadata: `${home[skew].url}/saml/connector/metadata`, trust_anchor_file: home[skew].node.signingCert,
              policy: 'full', display_name: 'Home' }],
          },
        },
      });
    }));
  });
  after(async () => {
    for (const c of Object.values(connectors)) await c.stop();
    for (const n of Object.values(nodes)) await n.stop();
    await sim?.stop();
    await redis?.stop();
  });

  /** The Connector that uses country's node. */
  const connectorOf = (country) => connectors[NODES[country].skew];

  test('libfaketime moves the clock of every node\'s workers, and keeps moving it', async () => {
    await sleep(1500); // past libfaketime's next reading of FAKETIME
    for (const [country, { offset }] of Object.entries(NODES)) {
      for (let i = 0; i < 4; i++) {
        const r = await fetch(`${nodes[country].url}/healthz`);
        assert.equal(r.status, 200);
        const off = offsetOf(r.headers.get('date'));
        assert.ok(near(off, offset), `${country}'s nginx is ${off} s off, not ${offset}`);
      }
    }
    for (const c of Object.values(connectors)) {
      const off = offsetOf((await fetch(`${c.url}/healthz`)).headers.get('date'));
      assert.ok(near(off, 0), `the Connector's clock is right (${off} s off)`);
    }
  });

  /** The portal's login at its Connector sent on to country's node: the request's form and the browsers. */
  async function toNode(country) {
    const a = connectorOf(country);
    const flow = await authorize(a.url, { clientId: 'portal', secret: SECRET, redirectUri: PORTAL_CB, scope: 'openid profile' });
    assert.equal(flow.first.status, 303, flow.first.text);
    const start = await flow.agent.get(`/auth/eidas?country=${country}`);
    assert.equal(start.status, 200, start.text);
    const request = samlForm(start.text);
    assert.equal(request.action, `${nodes[country].url}/saml/proxy/sso`);
    return { ...flow, request, agentB: new Agent(nodes[country].url) };
  }

  /** A foreign citizen's whole way through country's node and back to A: A's last answer. */
  async function crossBorder(country, citizen = citizenByOutcome('OK')) {
    const flow = await toNode(country);
    const sso = await flow.agentB.post(flow.request.action, flow.request.fields);
    assert.equal(sso.status, 303, `${country}'s node refused the request: ${sso.status}\n${nodes[country].errorLog().split('\n').slice(-2).join('\n')}`);
    await flow.agentB.get('/login');
    const answer = await mobileId(flow.agentB, citizen);
    const answeredAt = Date.now();
    assert.equal(answer.status, 200, answer.text);
    const response = samlForm(answer.text);
    const a = connectorOf(country);
    assert.equal(response.action, `${a.url}/auth/eidas/acs`);
    const acs = await new Agent(a.url).post(response.action, response.fields); // cross-site: no cookie
    const done = acs.status === 303 ? await flow.agent.get(acs.location) : acs;
    return { ...flow, answer, answeredAt, response, done };
  }

  /** The IssueInstant of the (signed, unencrypted) samlp:Response. */
  function responseIssueInstant(fields) {
    const xml = Buffer.from(fields.SAMLResponse, 'base64').toString('utf8');
    const root = xml.match(/<(?:\w+:)?Response\b[^>]*>/)?.[0];
    return root?.match(/IssueInstant="([^"]+)"/)?.[1];
  }

  /** A login through country's node that must succeed: checks the node's clock really was off, and the portal's tokens. */
  async function logsIn(country) {
    const citizen = citizenByOutcome('OK');
    const a = connectorOf(country);
    const { offset } = NODES[country];
    const mark = a.errorLog().length;
    const { done, answer, answeredAt, response, config, verifier, state, nonce } = await crossBorder(country, citizen);
    // libfaketime really moved the clock of the worker that answered
    const instant = responseIssueInstant(response.fields);
    assert.ok(instant, 'the Response has an IssueInstant');
    assert.ok(near(offsetOf(instant, answeredAt), offset), `IssueInstant ${instant} is not ${offset} s off`);
    assert.ok(near(offsetOf(answer.headers.get('date'), answeredAt), offset), `nginx's Date ${answer.headers.get('date')}`);
    assert.equal(done.status, 303, `${done.status} ${plain(done.text)}\n${logSince(a, mark)}`);
    assert.ok(done.location.startsWith(`${PORTAL_CB}?`), done.location);
    const tokens = await oidc.authorizationCodeGrant(config, new URL(done.location), {
      pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true,
    });
    const { sub, amr } = tokens.claims();
    assert.ok(sub.startsWith(country) && sub.endsWith(citizen.personalCode), sub);
    assert.deepEqual(amr, ['eidas']);
  }

  test('EE\'s node ahead by 30 s, within the 60 s tolerance: the citizen logs in', () => logsIn('EE'));
  test('FI\'s node behind by 30 s, within the 60 s tolerance: the citizen logs in', () => logsIn('FI'));

  test('LT\'s node ahead by 4 min: the Connector refuses its Response (IssueInstant in the future) with the eIDAS error page', async () => {
    const a = connectorOf('LT');
    const mark = a.errorLog().length;
    const { done, response, answeredAt } = await crossBorder('LT');
    assert.ok(near(offsetOf(responseIssueInstant(response.fields), answeredAt), NODES.LT.offset), 'LT\'s clock is 4 min ahead');
    assert.equal(done.status, 400, done.text);
    assert.match(done.text, /id="error"/);
    assert.match(plain(done.text), /answer of your country's eIDAS node could not be accepted/);
    assert.match(done.text, /id="try-again"/);
    assert.doesNotMatch(done.text, /\/callback\?code=/);
    assert.match(logSince(a, mark), /eidas_connector: response of the node of LT refused: IssueInstant is in the future/);
  });

  test('SE\'s node behind by 10 min: it refuses the Connector\'s AuthnRequest (IssueInstant in its future) with its error page', async () => {
    const mark = nodes.SE.errorLog().length;
    const flow = await toNode('SE');
    const sso = await flow.agentB.post(flow.request.action, flow.request.fields);
    const ssoAt = Date.now();
    assert.equal(sso.status, 400, sso.text);
    assert.match(sso.text, /<title>Something went wrong<\/title>/);
    assert.match(plain(sso.text), /authentication request from the other country's service is not valid/);
    assert.equal(sso.location, null);
    assert.ok(near(offsetOf(sso.headers.get('date'), ssoAt), NODES.SE.offset), 'SE\'s clock is 10 min behind');
    assert.match(logSince(nodes.SE, mark), /eidas proxy: refused an AuthnRequest: IssueInstant in the future/);
    // the citizen is still in the login at the Connector and may choose another way
    const back = await flow.agent.get('/login');
    assert.equal(back.status, 200);
  });

  test('DE\'s node ahead by 400 s, both nodes tolerating 600 s: the citizen logs in', () => logsIn('DE'));
});

describe('a national OpenID Connect provider whose clock is off', () => {
  // provider id -> offset of its clock, in seconds
  const PROVIDERS = { ahead30: 30, behind30: -30, ahead10min: 600, behind2h: -7200 };
  let redis, broker, callbackUrl;
  const ops = {};
  const creds = {};

  before(async () => {
    redis = await startRedis();
    const port = await freePort();
    callbackUrl = `http://127.0.0.1:${port}/auth/oidc/callback`;
    await Promise.all(Object.entries(PROVIDERS).map(async ([id, offset]) => {
      creds[id] = { clientId: `eidhub-${id}`, clientSecret: `${id}-secret-${hex()}` };
      ops[id] = await startNationalOidcProcess({ profile: 'fr', ...creds[id], redirectUri: callbackUrl, clockOffsetSeconds: offset });
    }));
    broker = await startBroker({
      port, store: redis.url,
      broker: {
        relying_parties: [PORTAL],
        backends: {
          oidc_upstream: { // clock_skew_seconds: the default, 60
            providers: Object.keys(PROVIDERS).map((id) => nationalProviderSettings(id, ops[id], creds[id])),
          },
        },
      },
    });
  });
  after(async () => {
    await broker?.stop();
    for (const op of Object.values(ops)) await op.stop();
    await redis?.stop();
  });

  /**
   * How far provider id's clock is off, in seconds: an authorization request
   * of its own (never finished) gets an interaction cookie that expires an
   * hour (oidc-provider's default interaction TTL) after the provider's now.
   */
  async function providerClockOffset(id) {
    const auth = new URL(`${ops[id].url}/auth`);
    for (const [k, v] of Object.entries({
      client_id: creds[id].clientId, redirect_uri: callbackUrl, response_type: 'code', scope: 'openid', state: hex(), nonce: hex(),
      code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256',
    })) auth.searchParams.set(k, v);
    const r = await fetch(auth, { redirect: 'manual' });
    assert.equal(r.status, 303);
    const expires = r.headers.getSetCookie().find((c) => c.startsWith('_interaction='))?.match(/expires=([^;]+)/i)?.[1];
    assert.ok(expires, 'the provider sets its interaction cookie with an expiry');
    return Math.round(offsetOf(expires) - 3600);
  }

  /** A portal's login through provider id, as far as eidhub's answer to the provider's redirect. */
  async function through(id) {
    const flow = await authorize(broker.url, {
      clientId: 'portal', secret: SECRET, redirectUri: PORTAL_CB, scope: 'openid profile', extra: { acr_values: 'substantial' },
    });
    assert.equal(flow.first.status, 303, flow.first.text);
    const go = await flow.agent.get(`/auth/oidc?provider=${id}`);
    assert.equal(go.status, 303, go.text);
    const callback = await loginAtProvider(providerAgent(ops[id]), go.location, 'jean');
    const mark = broker.errorLog().length;
    const answer = await flow.agent.get(callback);
    return { ...flow, answer, log: logSince(broker, mark) };
  }

  for (const id of ['ahead30', 'behind30']) {
    test(`the provider ${PROVIDERS[id] > 0 ? 'ahead' : 'behind'} by 30 s, within the 60 s tolerance: the citizen logs in`, async () => {
      const { answer, log, config, verifier, state, nonce } = await through(id);
      assert.equal(answer.status, 303, `${answer.status} ${elementText(answer.text, 'error')}\n${log}`);
      assert.ok(answer.location.startsWith(`${PORTAL_CB}?`), answer.location);
      const tokens = await oidc.authorizationCodeGrant(config, new URL(answer.location), {
        pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true,
      });
      assert.equal(tokens.claims().sub, `FR${ops[id].citizens.jean.sub}`);
      // and the provider's clock was off indeed
      const off = await providerClockOffset(id);
      assert.ok(near(off, PROVIDERS[id]), `the provider's clock is ${off} s off, not ${PROVIDERS[id]}`);
    });
  }

  const refused = {
    ahead10min: ['ahead by 10 min: its ID token was issued in the future', /the ID token was issued in the future \(iat\)/],
    behind2h: ['behind by 2 h: its ID token (valid an hour) has expired', /the ID token has expired/],
  };
  for (const [id, [what, reason]] of Object.entries(refused)) {
    test(`the provider ${what}: refused with eidhub's clear page`, async () => {
      const { answer, log } = await through(id);
      assert.equal(answer.status, 400, answer.text);
      assert.match(plain(elementText(answer.text, 'error') ?? ''), /The eID service's answer could not be verified/);
      assert.match(answer.text, new RegExp(`id="try-again" href="/auth/oidc\\?provider=${id}"`));
      assert.equal(answer.location, null);
      assert.match(log, new RegExp(`oidc_upstream: provider ${id}: answer refused: ${reason.source}`));
    });
  }
});
