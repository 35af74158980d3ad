// Foundation: the module served by real nginx, against real Redis and the
// embedded shared-memory store.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as oidc from 'openid-client';
import * as jose from 'jose';
import { eidhubctl, keygen, nginxConf, nginxTest, startBroker, startRedis, tmpdir, freePort } from '../lib/harness.mjs';

for (const storeKind of ['redis', 'shm']) {
  describe(`broker with the ${storeKind} store`, () => {
    let redis, broker;
    before(async () => {
      if (storeKind === 'redis') redis = await startRedis();
      broker = await startBroker({ store: redis ? redis.url : 'shm://?size=8m' });
    });
    after(async () => { await broker?.stop(); await redis?.stop(); });

    test('a standard OIDC client library accepts discovery and the JWKS', async () => {
      const config = await oidc.discovery(new URL(broker.url), 'probe', undefined, undefined,
        { execute: [oidc.allowInsecureRequests] });
      const meta = config.serverMetadata();
      assert.equal(meta.issuer, broker.url);
      assert.equal(meta.jwks_uri, `${broker.url}/jwks`);
      assert.deepEqual(meta.response_types_supported, ['code']);
      assert.ok(meta.code_challenge_methods_supported.includes('S256'));
      const jwks = await (await fetch(meta.jwks_uri)).json();
      assert.equal(jwks.keys.length, 1);
      const [key] = jwks.keys;
      assert.equal(key.alg, 'ES256');
      assert.equal(key.use, 'sig');
      assert.equal(key.d, undefined, 'no private part is published');
      assert.equal(key.kid, await jose.calculateJwkThumbprint(key, 'sha256'), 'kid is the RFC 7638 thumbprint');
      const keyset = jose.createLocalJWKSet(jwks);
      assert.ok(await keyset({ alg: 'ES256', kid: key.kid }));
    });

    test('healthz reports the store as reachable', async () => {
      const r = await fetch(`${broker.url}/healthz`);
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('cache-control'), 'no-store');
      assert.deepEqual(await r.json(), { status: 'ok', store: { type: storeKind, reachable: true } });
    });

    test('unknown paths are 404, wrong methods 405, oversized bodies 413', async () => {
      assert.equal((await fetch(`${broker.url}/nothing-here`)).status, 404);
      assert.equal((await fetch(`${broker.url}/jwks`, { method: 'POST', body: 'x' })).status, 405);
      const big = 'a'.repeat(200 * 1024);
      assert.equal((await fetch(`${broker.url}/jwks`, { method: 'POST', body: big })).status, 413);
      const head = await fetch(`${broker.url}/jwks`, { method: 'HEAD' });
      assert.equal(head.status, 200);
      assert.equal(await head.text(), '');
    });
  });
}

describe('never blocking the event loop', () => {
  let redis, broker;
  before(async () => {
    redis = await startRedis();
    // one worker: the discovery requests share the event loop with the stalled health check
    broker = await startBroker({ store: redis.url, workers: 1, timeoutMs: 1500 });
  });
  after(async () => { redis?.resume(); await broker?.stop(); await redis?.stop(); });

  test('with Redis stopped (SIGSTOP) healthz answers 503 while discovery keeps answering', async () => {
    assert.equal((await fetch(`${broker.url}/healthz`)).status, 200);
    redis.pause();
    let healthDone = false;
    const health = fetch(`${broker.url}/healthz`).then(async (r) => {
      healthDone = true;
      return { status: r.status, body: await r.json() };
    });
    // While the health check waits for the frozen Redis, the same worker
    // answers discovery requests: all of them finish before it does.
    let answered = 0;
    for (let i = 0; i < 20; i++) {
      const r = await fetch(`${broker.url}/.well-known/openid-configuration`);
      assert.equal(r.status, 200);
      await r.arrayBuffer();
      if (!healthDone) answered++;
    }
    assert.equal(answered, 20, 'discovery was answered while the store call was pending');
    const h = await health;
    assert.equal(h.status, 503);
    assert.equal(h.body.store.reachable, false);
    assert.equal(h.body.store.error, 'store timed out');
    redis.resume();
    // the next health check reconnects and succeeds again, without restarting nginx
    let status = 0;
    for (let i = 0; i < 20 && status !== 200; i++) status = (await fetch(`${broker.url}/healthz`)).status;
    assert.equal(status, 200);
  });
});

describe('configuration errors stop nginx -t with one clear line', () => {
  let dir, port;
  before(async () => { dir = tmpdir('eidhub-conf-'); port = await freePort(); });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  function check(brokerJson, expected) {
    fs.writeFileSync(path.join(dir, 'broker.json'), typeof brokerJson === 'string' ? brokerJson : JSON.stringify(brokerJson));
    const r = nginxTest(dir, nginxConf({ dir, port, store: 'shm://' }));
    assert.notEqual(r.status, 0);
    const lines = r.stderr.split('\n').filter((l) => l.includes('[emerg]'));
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], expected);
    assert.ok(lines[0].includes(`${dir}/broker.json`), 'the line names the file');
  }

  test('a valid configuration passes', () => {
    const key = keygen(dir);
    fs.writeFileSync(path.join(dir, 'broker.json'), JSON.stringify({ issuer: 'https://id.example.ee', keys: [{ file: key }] }));
    const r = nginxTest(dir, nginxConf({ dir, port, store: 'shm://' }));
    assert.equal(r.status, 0, r.stderr);
  });

  test('a bad redirect URI names its JSON path', () => {
    check({
      issuer: 'https://id.example.ee', keys: [{ file: path.join(dir, 'signing-key.pem') }],
      relying_parties: [{ client_id: 'p', redirect_uris: ['https://ok.example/cb', 'http://evil.example/cb'], display_name: 'P', policy: 'basic' }],
    }, /\$\.relying_parties\[0\]\.redirect_uris\[1\]: must be an absolute http\(s\) URL/);
  });

  test('a missing key file names the key', () => {
    check({ issuer: 'https://id.example.ee', keys: [{ file: 'nope.pem' }] }, /\$\.keys\[0\]: .*nope\.pem/);
  });

  test('broken JSON names the line', () => {
    check('{"issuer": "https://id.example.ee",', /line 1 column \d+: not valid JSON/);
  });

  test('a bad store URL is refused', () => {
    fs.writeFileSync(path.join(dir, 'broker.json'), JSON.stringify({ issuer: 'https://id.example.ee', keys: [{ file: path.join(dir, 'signing-key.pem') }] }));
    const r = nginxTest(dir, nginxConf({ dir, port, store: 'redis://127.0.0.1:notaport/0' }));
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /eidhub_store: /);
  });
});

describe('eidhubctl', () => {
  let dir;
  before(() => { dir = tmpdir('eidhub-ctl-'); });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('keygen writes keys that config check accepts', () => {
    const ec = keygen(dir, 'ec.pem');
    const rsa = keygen(dir, 'rsa.pem', '--rsa');
    assert.equal(fs.statSync(ec).mode & 0o777, 0o600);
    assert.equal(eidhubctl('keygen', ec).status !== 0, true, 'refuses to overwrite');
    const cfg = path.join(dir, 'broker.json');
    fs.writeFileSync(cfg, JSON.stringify({ issuer: 'https://id.example.ee', keys: [{ file: 'ec.pem', active: true }, { file: 'rsa.pem' }] }));
    const r = eidhubctl('config', 'check', cfg);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /configuration OK \(2 keys/);
    const jwks = JSON.parse(eidhubctl('jwks', cfg).stdout);
    assert.deepEqual(jwks.keys.map((k) => k.alg).sort(), ['ES256', 'PS256']);
  });

  test('config check prints one error line and fails', () => {
    const cfg = path.join(dir, 'bad.json');
    fs.writeFileSync(cfg, JSON.stringify({ issuer: 'https://id.example.ee', keys: [{ file: 'ec.pem' }], relying_parties: [{ client_id: 'x' }] }));
    const r = eidhubctl('config', 'check', cfg);
    assert.equal(r.status, 1);
    assert.equal(r.stderr.trim().split('\n').length, 1);
    assert.match(r.stderr, /bad\.json: \$\.relying_parties\[0\]\.redirect_uris: is required/);
  });
});
