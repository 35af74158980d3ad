// eidhub_protect: an existing web application behind real nginx + eidhub
// (docs/protect.md). A small Node upstream echoes the request headers it
// got; a citizen logs in with Mobile-ID (the simulator) through the redirect
// and lands on the original URL; the upstream sees exactly the released
// claims and never what the client sent as identity headers (SECURITY.md
// "Store and HTTP": client-sent identity headers, return addresses).
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Agent } from '../lib/agent.mjs';
import {
  freePort, mobileIdSettings, nginxConf, nginxTest, respCommand, startBroker, startMobileIdSim, startRedis,
} from '../lib/harness.mjs';
import { mobileId } from '../lib/oidc-flow.mjs';
import { citizenByOutcome } from '../sim/mobile-id.mjs';

let redis, sim, broker, upstream, upstreamPort;
const seen = []; // what the upstream received: {method, url, headers (lower-case names)}

/** The upstream application: answers every request with what it received. */
function startUpstream() {
  const server = http.createServer((req, res) => {
    const headers = {};
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      const name = req.rawHeaders[i].toLowerCase();
      headers[name] = headers[name] === undefined ? req.rawHeaders[i + 1] : [].concat(headers[name], req.rawHeaders[i + 1]);
    }
    const got = { method: req.method, url: req.url, headers };
    seen.push(got);
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(got));
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/** The identity headers (x-eidhub-*, and the mapped x-remote-family) of an upstream request. */
function identityHeaders(got) {
  return Object.fromEntries(Object.entries(got.headers)
    .filter(([name]) => /^x[-_]eidhub[-_]/.test(name) || /^x[-_]remote[-_]family$/.test(name)));
}

const FORGED = {
  'X-Eidhub-Sub': 'EE38001085718',
  'x-eidhub-given-name': 'Evil',
  'X-EIDHUB-BIRTHDATE': '1900-01-01',
  'X_Eidhub_Sub': 'EEunderscore', // CGI-style upstreams would read it as X-Eidhub-Sub
  'x-remote-family': 'Mallory',
};

before(async () => {
  upstream = await startUpstream();
  upstreamPort = upstream.address().port;
  redis = await startRedis();
  sim = await startMobileIdSim();
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const cb = `${issuer}/protect/callback`;
  // a page that includes the protected application (an SSI subrequest)
  const pages = fs.mkdtempSync(path.join(os.tmpdir(), 'eidhub-pages-'));
  fs.chmodSync(pages, 0o755);
  fs.writeFileSync(path.join(pages, 'index.html'), '<p><!--# include virtual="/app/included" --></p>\n', { mode: 0o644 });
  broker = await startBroker({
    port,
    store: redis.url,
    broker: {
      relying_parties: [
        { client_id: 'city-app', redirect_uris: [cb], display_name: 'City app', policy: 'basic',
          protect: { session_minutes: 5, claim_headers: { family_name: 'X-Remote-Family' } } },
        { client_id: 'age-app', redirect_uris: [cb], display_name: 'Youth centre', policy: 'age-only' },
        { client_id: 'portal', redirect_uris: ['http://127.0.0.1:9/cb'], display_name: 'Portal', policy: 'basic' },
      ],
      backends: { mobile_id: mobileIdSettings(sim, { rate_limit: { per_person: 100, per_phone: 100, per_client_address: 1000, window_seconds: 60 } }) },
    },
    extraServer: `underscores_in_headers on;
        location /app/ { eidhub_protect city-app; proxy_pass http://127.0.0.1:${upstreamPort}; }
        location /age/ { eidhub_protect age-app; proxy_pass http://127.0.0.1:${upstreamPort}; }
        location /open/ {
            satisfy any; allow 127.0.0.1; deny all;
            eidhub_protect city-app;
            proxy_pass http://127.0.0.1:${upstreamPort};
        }
        location /page/ { ssi on; alias ${pages}/; }`,
  });
});
after(async () => {
  await broker?.stop(); await sim?.stop(); await redis?.stop();
  await new Promise((resolve) => (upstream ? upstream.close(resolve) : resolve()));
});

/**
 * A citizen opens url of a protected location in a new browser (or agent)
 * and logs in with Mobile-ID; returns the agent and the answers.
 */
async function loginThrough(url, { citizen = citizenByOutcome('OK_EC'), agent = new Agent(broker.url), maxAge = 300 } = {}) {
  const before = seen.length;
  const first = await agent.get(url, { headers: FORGED });
  assert.equal(first.status, 303, first.text);
  assert.equal(seen.length, before, 'nothing reaches the application without a session');
  const authz = new URL(first.location);
  assert.equal(authz.origin + authz.pathname, `${broker.url}/authorize`);
  assert.equal(authz.searchParams.get('redirect_uri'), `${broker.url}/protect/callback`);
  assert.equal(authz.searchParams.get('code_challenge_method'), 'S256');
  assert.match(authz.searchParams.get('code_challenge'), /^[A-Za-z0-9_-]{43}$/);
  assert.ok(authz.searchParams.get('state') && authz.searchParams.get('nonce'));
  const start = await agent.get(first.location);
  assert.equal(start.status, 303, start.text);
  assert.equal(new URL(start.location).pathname, '/login');
  await agent.get('/login');
  const done = await mobileId(agent, citizen);
  assert.equal(done.status, 303, done.text);
  const callback = new URL(done.location);
  assert.equal(callback.origin + callback.pathname, `${broker.url}/protect/callback`);
  const back = await agent.get(done.location);
  assert.equal(back.status, 303, back.text);
  assert.equal(back.location, new URL(url, broker.url).href, 'back on the original URL');
  const setCookie = back.headers.getSetCookie().find((c) => c.startsWith('eidhub_app_'));
  assert.match(setCookie, /HttpOnly/);
  assert.match(setCookie, /SameSite=Lax/);
  assert.match(setCookie, new RegExp(`Max-Age=${maxAge};`));
  const page = await agent.get(back.location, { headers: FORGED });
  assert.equal(page.status, 200, page.text);
  return { agent, first, callback, page, got: JSON.parse(page.text) };
}

describe('a citizen logs in to a protected application', () => {
  test('lands on the original URL; the application sees exactly the released claims', async () => {
    const citizen = citizenByOutcome('OK_EC');
    const { agent, got } = await loginThrough('/app/page?x=1&y=%C3%A4');
    assert.equal(got.url, '/app/page?x=1&y=%C3%A4');
    const ids = identityHeaders(got);
    assert.deepEqual(Object.keys(ids).sort(), ['x-eidhub-given-name', 'x-eidhub-sub', 'x-remote-family'],
      'sub and the basic policy\'s claims, the family name under its mapped header, nothing else');
    assert.equal(decodeURIComponent(ids['x-eidhub-given-name']).toLowerCase(), citizen.givenName.toLowerCase());
    assert.equal(decodeURIComponent(ids['x-remote-family']).toLowerCase(), citizen.surname.toLowerCase());
    assert.equal(ids['x-remote-family'], encodeURIComponent(decodeURIComponent(ids['x-remote-family'])),
      'UTF-8 values arrive percent-encoded');
    assert.notEqual(ids['x-eidhub-sub'], `EE${citizen.personalCode}`, 'a pairwise subject');
    assert.ok(!JSON.stringify(got.headers).includes(citizen.personalCode), 'no personal code anywhere');
    assert.ok(!JSON.stringify(got.headers).includes('Evil') && !JSON.stringify(got.headers).includes('Mallory')
      && !JSON.stringify(got.headers).includes('EEunderscore'), 'no forged value anywhere');

    // the session holds: more requests go straight through, forged headers stripped
    // forged headers also beyond nginx's first 20 (its header list grows in parts)
    const padding = Object.fromEntries(Array.from({ length: 45 }, (_, i) => [`x-pad-${i}`, String(i)]));
    const again = await agent.get('/app/other', {
      headers: { 'x-EIDHUB-sub': 'EE1', ...padding, 'X-Eidhub-Age-Over-18': 'true', 'x-pad-last': 'kept' },
    });
    assert.equal(again.status, 200);
    const ids2 = identityHeaders(JSON.parse(again.text));
    assert.equal(ids2['x-eidhub-sub'], ids['x-eidhub-sub']);
    assert.equal(ids2['x-eidhub-age-over-18'], undefined);
    const headers2 = JSON.parse(again.text).headers;
    assert.equal(headers2['x-pad-44'], '44', 'other headers pass unchanged');
    assert.equal(headers2['x-pad-last'], 'kept');

    // the same citizen again in another browser: the same pairwise subject
    const other = await loginThrough('/app/', { citizen });
    assert.equal(identityHeaders(other.got)['x-eidhub-sub'], ids['x-eidhub-sub']);
  });

  test('a policy that releases only age_over_18 gives no name and no birth date', async () => {
    const { got } = await loginThrough('/age/', { maxAge: 1800 }); // no "protect" member: 30 minutes
    const ids = identityHeaders(got);
    delete ids['x-remote-family']; // a header of city-app's mapping only: any other header for age-app
    assert.deepEqual(Object.keys(ids).sort(), ['x-eidhub-age-over-18', 'x-eidhub-sub']);
    assert.equal(ids['x-eidhub-age-over-18'], 'true');
    assert.ok(!Object.keys(got.headers).some((h) => h !== 'x-remote-family' && /birth|given|family/.test(h)));
  });

  test('the application session lives in the store with a TTL, and its end means a new login', async () => {
    const { agent } = await loginThrough('/app/');
    const [name, value] = [...agent.cookies].find(([n]) => n.startsWith('eidhub_app_'));
    const key = `app:${crypto.createHash('sha256').update(value).digest('base64url')}`;
    const ttl = await respCommand(redis.port, ['TTL', key]);
    assert.ok(ttl > 250 && ttl <= 300, `TTL ${ttl}`);
    assert.ok(!(await respCommand(redis.port, ['GET', key])).includes(value), 'the store holds no cookie value');
    // expired (the store dropped it): the browser logs in again
    await respCommand(redis.port, ['DEL', key]);
    const expired = await agent.get('/app/');
    assert.equal(expired.status, 303);
    assert.equal(new URL(expired.location).pathname, '/authorize');
    // a forged cookie: the same
    agent.cookies.set(name, crypto.randomBytes(32).toString('base64url'));
    const forged = await agent.get('/app/', { headers: FORGED });
    assert.equal(forged.status, 303);
    assert.equal(new URL(forged.location).pathname, '/authorize');
  });

  test('logout ends the application session', async () => {
    const { agent } = await loginThrough('/app/');
    const bad = await agent.get('/protect/logout?return_to=%2F%2Fevil.example%2F');
    assert.equal(bad.status, 400);
    assert.equal(bad.location, null);
    assert.equal((await agent.get('/app/')).status, 200, 'a refused logout changes nothing');
    const out = await agent.get('/protect/logout?return_to=%2Fapp%2F');
    assert.equal(out.status, 303);
    assert.equal(out.location, `${broker.url}/app/`);
    assert.ok(![...agent.cookies.keys()].some((n) => n.startsWith('eidhub_app_')), 'the cookie is cleared');
    const after = await agent.get('/app/');
    assert.equal(after.status, 303);
    assert.equal(new URL(after.location).pathname, '/authorize');
  });
});

describe('hostile requests', () => {
  test('identity headers are stripped without a session too (a subrequest, which never logs in)', async () => {
    const before = seen.length;
    const res = await fetch(`${broker.url}/page/`, { headers: FORGED });
    assert.equal(res.status, 200);
    assert.equal(seen.length, before + 1, 'the SSI include reached the application');
    assert.equal(seen.at(-1).url, '/app/included');
    assert.deepEqual(identityHeaders(seen.at(-1)), {}, 'no identity header reaches the application');
    assert.ok(!(await res.text()).includes('Evil'));
  });

  test('satisfy any does not let a request past eidhub_protect without a session', async () => {
    const before = seen.length;
    const res = await fetch(`${broker.url}/open/x`, { headers: FORGED, redirect: 'manual' });
    assert.equal(res.status, 303);
    assert.equal(new URL(res.headers.get('location')).pathname, '/authorize');
    assert.equal(seen.length, before);
  });

  test('without a session, a POST gets 401 and never reaches the application', async () => {
    const before = seen.length;
    const res = await fetch(`${broker.url}/app/form`, {
      method: 'POST', headers: { ...FORGED, 'content-type': 'application/x-www-form-urlencoded' }, body: 'a=1', redirect: 'manual',
    });
    assert.equal(res.status, 401);
    assert.equal(res.headers.get('location'), null);
    assert.equal(seen.length, before);
  });

  test('return addresses that leave the site are refused', async () => {
    for (const target of ['//app/', '//evil.example/../app/', '//app/?next=1', '/app/\\evil']) {
      const res = await new Promise((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port: broker.port, path: target, headers: FORGED }, (r) => {
          r.resume();
          r.on('end', () => resolve(r));
        });
        req.on('error', reject);
        req.end();
      });
      assert.ok(res.statusCode === 400 || res.statusCode === 404, `${target}: ${res.statusCode}`);
      assert.equal(res.headers.location, undefined, `${target} must not redirect`);
    }
    // the one that matches the protected location is refused by eidhub itself
    const res = await new Promise((resolve) => {
      http.get({ host: '127.0.0.1', port: broker.port, path: '//app/' }, (r) => { r.resume(); r.on('end', () => resolve(r)); });
    });
    assert.equal(res.statusCode, 400);
  });

  test('a callback from another browser or replayed opens no session', async () => {
    const agent = new Agent(broker.url);
    const first = await agent.get('/app/');
    const state = new URL(first.location).searchParams.get('state');
    const stranger = new Agent(broker.url);
    const cb = await stranger.get(`/protect/callback?code=AAAA&state=${state}`);
    assert.equal(cb.status, 400);
    assert.ok(![...stranger.cookies.keys()].some((n) => n.startsWith('eidhub_app_')));
    const own = await agent.get(`/protect/callback?code=AAAA&state=${state}`);
    assert.equal(own.status, 400, 'an unknown code is refused');
    const replay = await agent.get(`/protect/callback?code=AAAA&state=${state}`);
    assert.equal(replay.status, 400);
    assert.ok(![...agent.cookies.keys()].some((n) => n.startsWith('eidhub_app_')));
  });
});

describe('never blocking the event loop', () => {
  test('with Redis stalled, the protected request fails with 503 in time and others keep answering', async () => {
    redis.pause();
    try {
      const t0 = Date.now();
      const stalled = fetch(`${broker.url}/app/`, { redirect: 'manual', headers: FORGED });
      await new Promise((resolve) => setTimeout(resolve, 50));
      for (let i = 0; i < 5; i++) {
        const t = Date.now();
        const jwks = await fetch(`${broker.url}/jwks`);
        assert.equal(jwks.status, 200);
        assert.ok(Date.now() - t < 400, `/jwks took ${Date.now() - t} ms while the store stalls`);
      }
      const res = await stalled;
      assert.equal(res.status, 503);
      assert.ok(Date.now() - t0 < 3000, 'the store timeout fired');
    } finally {
      redis.resume();
    }
  });
});

describe('configuration', () => {
  const confWith = (location) => nginxConf({
    dir: broker.dir, port: broker.port, store: redis.url,
    extraServer: `location /x/ { ${location} proxy_pass http://127.0.0.1:${upstreamPort}; }`,
  });

  test('an unknown relying party in eidhub_protect fails nginx -t with a clear message', () => {
    const r = nginxTest(broker.dir, confWith('eidhub_protect nobody;'));
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /eidhub_protect: no relying party "nobody" in \S+broker\.json/);
  });

  test('a relying party without the callback among its redirect_uris fails nginx -t', () => {
    const r = nginxTest(broker.dir, confWith('eidhub_protect portal;'));
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /relying party "portal" must list "http:\/\/127\.0\.0\.1:\d+\/protect\/callback" in its redirect_uris/);
  });

  test('a known one passes', () => {
    const r = nginxTest(broker.dir, confWith('eidhub_protect city-app;'));
    assert.equal(r.status, 0, r.stderr);
    fs.rmSync(path.join(broker.dir, 'nginx-test.conf'), { force: true });
  });
});
