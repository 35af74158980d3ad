// The administration API (docs/admin-api.md) over real nginx and Redis:
// logins, the checks every change must pass (each refusal leaves the
// policies exactly as they were and is logged), versions, history, diff,
// conflicts, rollback and previews.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { passwordHash, policyDirectory, startBroker, startRedis } from '../lib/harness.mjs';


/** YYYY-MM-DD of today (UTC) minus years, plus days. */
function birthDate(years, days = 0) {
  const d = new Date();
  d.setUTCFullYear(d.getUTCFullYear() - years);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

describe('administration API', () => {
  let redis, broker, policyDir, base;
  const rp = (client_id, policy) => ({
    client_id, redirect_uris: ['http://127.0.0.1:9/cb'], display_name: { en: client_id }, policy,
  });

  before(async () => {
    redis = await startRedis();
    // nginx's workers run as nobody: they must be able to write here
    policyDir = policyDirectory();
    broker = await startBroker({
      store: redis.url,
      broker: {
        relying_parties: [rp('bar', 'age-only'), rp('portal', 'basic')],
        policy_dir: policyDir,
        admin: {
          accounts: [
            { user: 'alice', password_hash: passwordHash('alice-secret-1'), role: 'editor' },
            { user: 'bob', password_hash: passwordHash('bob-secret-1'), role: 'viewer' },
          ],
          session_minutes: 5,
        },
      },
    });
    base = `${broker.url}/admin/api`;
  });
  after(async () => {
    await broker?.stop();
    await redis?.stop();
    if (policyDir) fs.rmSync(policyDir, { recursive: true, force: true });
  });

  /** Logs in; returns {cookie, csrf, status, body, setCookie}. */
  async function login(user, password, headers = {}) {
    const r = await fetch(`${base}/login`, {
      method: 'POST', headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ user, password }),
    });
    const setCookie = r.headers.get('set-cookie');
    const body = await r.json();
    const cookie = setCookie ? setCookie.split(';')[0] : undefined;
    return { status: r.status, body, setCookie, cookie, csrf: body.csrf, cacheControl: r.headers.get('cache-control') };
  }

  async function get(session, what) {
    const r = await fetch(`${base}/${what}`, { headers: session ? { cookie: session.cookie } : {} });
    return { status: r.status, body: r.status === 204 ? null : await r.json() };
  }

  /** A change: POST what with body as JSON, the session's cookie and CSRF token. */
  async function post(session, what, body, headers = {}) {
    const h = { 'content-type': 'application/json' };
    if (session) { h.cookie = session.cookie; h['x-csrf-token'] = session.csrf; }
    Object.assign(h, headers);
    for (const [k, v] of Object.entries(h)) if (v === undefined) delete h[k];
    const r = await fetch(`${base}/${what}`, { method: 'POST', headers: h, body: typeof body === 'string' ? body : JSON.stringify(body) });
    const text = await r.text();
    return { status: r.status, body: text ? JSON.parse(text) : null };
  }

  /** What is on disk and in the API for name, to prove a refusal changed nothing. */
  async function snapshot(session, name) {
    const dir = path.join(policyDir, name);
    const files = fs.existsSync(dir) ? fs.readdirSync(dir).sort() : [];
    const history = await get(session, `history?name=${name}`);
    const current = await get(session, `policy?name=${name}`);
    return { files, history: history.body, version: current.body.version, document: current.body.document };
  }

  test('login: a good password starts a session; a wrong user or password gets the same 401', async () => {
    const ok = await login('alice', 'alice-secret-1');
    assert.equal(ok.status, 200);
    assert.equal(ok.body.user, 'alice');
    assert.equal(ok.body.role, 'editor');
    assert.match(ok.body.csrf, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(ok.cacheControl, 'no-store');
    assert.match(ok.setCookie, /^eidhub_admin=[A-Za-z0-9_-]{43}; Path=\/admin; Max-Age=300; HttpOnly; SameSite=Strict$/);
    const session = await get(ok, 'session');
    assert.equal(session.status, 200);
    assert.deepEqual(session.body, { user: 'alice', role: 'editor', csrf: ok.csrf });

    const wrong = await login('alice', 'alice-secret-2');
    const nobody = await login('mallory', 'alice-secret-1');
    assert.equal(wrong.status, 401);
    assert.equal(nobody.status, 401);
    assert.deepEqual(wrong.body, nobody.body);
    assert.equal(wrong.setCookie, null);
    assert.equal((await get(null, 'session')).status, 401);
    assert.equal((await get({ cookie: 'eidhub_admin=forged' }, 'session')).status, 401);
    assert.ok(!broker.errorLog().includes('alice-secret'), 'no password in the log');
  });

  test('reads need a session; requesters list every relying party with its policy version', async () => {
    assert.equal((await get(null, 'requesters')).status, 401);
    assert.equal((await get(null, 'policy?name=bar')).status, 401);
    const bob = await login('bob', 'bob-secret-1');
    const r = await get(bob, 'requesters');
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, [
      { client_id: 'bar', display_name: { en: 'bar' }, policy: { version: 0, profile: 'age-only' } },
      { client_id: 'portal', display_name: { en: 'portal' }, policy: { version: 0, profile: 'basic' } },
    ]);
    const p = await get(bob, 'policy?name=bar');
    assert.equal(p.status, 200);
    assert.equal(p.body.version, 0);
    assert.deepEqual(p.body.document, { profile: 'age-only' });
    assert.deepEqual(p.body.effective.release, ['age_over_18']);
    assert.deepEqual(p.body.meta, { by: null, at: null, why: null });
    assert.equal((await get(bob, 'policy?name=nobody')).status, 404);
    assert.equal((await get(bob, 'policy?name=..%2Fetc')).status, 400);
    assert.equal((await get(bob, 'policy?name=bar&version=7')).status, 404);
  });

  test('a viewer cannot save: 403, the policy unchanged', async () => {
    const bob = await login('bob', 'bob-secret-1');
    const before = await snapshot(bob, 'portal');
    const r = await post(bob, 'policy?name=portal', { document: { profile: 'full' }, why: 'try', base_version: 0 });
    assert.equal(r.status, 403);
    assert.equal(r.body.error, 'forbidden');
    assert.deepEqual(await snapshot(bob, 'portal'), before);
    assert.match(broker.errorLog(), /admin: refused POST \/admin\/api\/policy by bob: the account's role does not allow this/);
  });

  test('without a session, without or with a wrong CSRF token, cross-origin or not JSON: refused, unchanged', async () => {
    const alice = await login('alice', 'alice-secret-1');
    const before = await snapshot(alice, 'portal');
    const change = { document: { profile: 'full' }, why: 'attack', base_version: 0 };
    const cases = [
      [401, await post(null, 'policy?name=portal', change)],
      [403, await post(alice, 'policy?name=portal', change, { 'x-csrf-token': undefined })],
      [403, await post(alice, 'policy?name=portal', change, { 'x-csrf-token': `${alice.csrf.slice(0, -1)}${alice.csrf.endsWith('A') ? 'B' : 'A'}` })],
      [403, await post(alice, 'policy?name=portal', change, { 'x-csrf-token': '' })],
      [403, await post(alice, 'policy?name=portal', change, { origin: 'http://evil.example' })],
      [403, await post(alice, 'policy?name=portal', change, { origin: 'null' })],
      [403, await post(alice, 'policy?name=portal', change, { 'sec-fetch-site': 'cross-site' })],
      [415, await post(alice, 'policy?name=portal', change, { 'content-type': 'text/plain' })],
      [415, await post(alice, 'policy?name=portal', change, { 'content-type': 'application/x-www-form-urlencoded' })],
    ];
    for (const [status, r] of cases) {
      assert.equal(r.status, status, JSON.stringify(r.body));
      assert.ok(r.body.error && r.body.message, JSON.stringify(r.body));
    }
    // the same origin is fine (what a browser sends from the admin pages)
    const checked = await post(alice, 'validate', { document: { profile: 'basic' } },
      { origin: broker.url, 'sec-fetch-site': 'same-origin' });
    assert.equal(checked.status, 200);
    assert.deepEqual(await snapshot(alice, 'portal'), before);
    const log = broker.errorLog();
    assert.match(log, /admin: refused POST \/admin\/api\/policy by alice: the X-CSRF-Token header is missing or wrong/);
    assert.match(log, /admin: refused POST \/admin\/api\/policy by alice: not from the broker's own origin/);
    assert.match(log, /admin: refused POST \/admin\/api\/policy by \(no session\)/);
    assert.ok(!log.includes(alice.csrf), 'no CSRF token in the log');
  });

  test('an invalid policy: 422 naming the field, unchanged; validate says the same', async () => {
    const alice = await login('alice', 'alice-secret-1');
    const before = await snapshot(alice, 'portal');
    const bad = { release: ['given_name', 'shoe_size'] };
    const r = await post(alice, 'policy?name=portal', { document: bad, why: 'typo', base_version: 0 });
    assert.equal(r.status, 422);
    assert.equal(r.body.error, 'invalid_policy');
    assert.match(r.body.message, /^\$\.release\[1\]: /);
    const pairwise = await post(alice, 'policy?name=portal', { document: { release: ['person_identifier'] }, why: 'x', base_version: 0 });
    assert.equal(pairwise.status, 422);
    assert.match(pairwise.body.message, /^\$\.release\[0\]: .*pairwise/);
    assert.deepEqual(await snapshot(alice, 'portal'), before);
    const v = await post(alice, 'validate', { document: bad });
    assert.equal(v.status, 422);
    assert.equal(v.body.valid, false);
    assert.match(v.body.error, /^\$\.release\[1\]: /);
    const ok = await post(alice, 'validate', { document: { profile: 'basic', release_always: ['given_name'] } });
    assert.equal(ok.status, 200);
    assert.equal(ok.body.valid, true);
    assert.deepEqual(ok.body.effective.release_always, ['given_name']);
    assert.equal((await post(alice, 'policy?name=portal', { document: { profile: 'basic' }, base_version: 0 })).status, 400, 'why is required');
    assert.equal((await post(alice, 'policy?name=portal', { document: { profile: 'basic' }, why: 'x'.repeat(501), base_version: 0 })).status, 400);
    assert.equal((await post(alice, 'policy?name=portal', { document: { profile: 'basic' }, why: 'x' })).status, 400, 'base_version is required');
    assert.equal((await post(alice, 'policy?name=portal', 'not json')).status, 400);
    assert.deepEqual(await snapshot(alice, 'portal'), before);
  });

  test('save: a new version in history, diff and policy; a stale base_version is 409; rollback', async () => {
    const alice = await login('alice', 'alice-secret-1');
    const v1doc = { profile: 'basic', release: ['given_name', 'family_name', 'age_over_18'] };
    const s1 = await post(alice, 'policy?name=portal', { document: v1doc, why: 'the youth card needs the age', base_version: 0 });
    assert.equal(s1.status, 201, JSON.stringify(s1.body));
    assert.deepEqual(s1.body, { version: 1 });
    assert.deepEqual(fs.readdirSync(path.join(policyDir, 'portal')), ['1.json']);
    const onDisk = JSON.parse(fs.readFileSync(path.join(policyDir, 'portal', '1.json'), 'utf8'));
    assert.deepEqual(onDisk.document, v1doc);
    assert.equal(onDisk.meta.by, 'alice');

    const h = await get(alice, 'history?name=portal');
    assert.equal(h.status, 200);
    assert.equal(h.body.length, 1);
    assert.equal(h.body[0].version, 1);
    assert.equal(h.body[0].by, 'alice');
    assert.equal(h.body[0].why, 'the youth card needs the age');
    assert.match(h.body[0].at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);

    const p = await get(alice, 'policy?name=portal');
    assert.equal(p.body.version, 1);
    assert.deepEqual(p.body.document, v1doc);
    assert.equal(p.body.meta.by, 'alice');
    assert.deepEqual((await get(alice, 'requesters')).body.find((x) => x.client_id === 'portal').policy, { version: 1, profile: 'basic' });

    const d = await get(alice, 'diff?name=portal&from=0&to=1');
    assert.equal(d.status, 200);
    assert.deepEqual(d.body.changes, [{ member: 'release', from: ['given_name', 'family_name'], to: ['given_name', 'family_name', 'age_over_18'] }]);
    assert.equal((await get(alice, 'diff?name=portal&from=0&to=9')).status, 404);
    assert.equal((await get(alice, 'diff?name=portal&from=x&to=1')).status, 400);

    // someone else saved first: the stale save is refused and changes nothing
    const stale = await post(alice, 'policy?name=portal', { document: { profile: 'full' }, why: 'late', base_version: 0 });
    assert.equal(stale.status, 409);
    assert.equal(stale.body.error, 'conflict');
    assert.equal((await get(alice, 'history?name=portal')).body.length, 1);

    const s2 = await post(alice, 'policy?name=portal', { document: { profile: 'basic', consent: true }, why: 'ask first', base_version: 1 });
    assert.deepEqual(s2.body, { version: 2 });
    const rb = await post(alice, 'rollback?name=portal', { version: 1, why: 'consent page not ready' });
    assert.equal(rb.status, 201, JSON.stringify(rb.body));
    assert.deepEqual(rb.body, { version: 3 });
    const p3 = await get(alice, 'policy?name=portal');
    assert.equal(p3.body.version, 3);
    assert.deepEqual(p3.body.document, v1doc);
    assert.equal(p3.body.meta.why, 'consent page not ready');
    assert.deepEqual((await get(alice, 'diff?name=portal&from=1&to=3')).body, { changes: [] });
    assert.deepEqual((await get(alice, 'history?name=portal')).body.map((x) => x.version), [3, 2, 1]);
    const old = await get(alice, 'policy?name=portal&version=2');
    assert.equal(old.body.version, 2);
    assert.equal(old.body.effective.consent, true);
    assert.equal((await post(alice, 'rollback?name=portal', { version: 8, why: 'x' })).status, 404);
    const bob = await login('bob', 'bob-secret-1');
    assert.equal((await post(bob, 'rollback?name=portal', { version: 1, why: 'x' })).status, 403);
    assert.deepEqual(fs.readdirSync(path.join(policyDir, 'portal')).sort(), ['1.json', '2.json', '3.json']);
    assert.match(broker.errorLog(), /admin: alice saved policy portal version 3 \(rollback to version 1\)/);
  });

  test('preview: the age-only requester gets only age_over_18, true or false as the birth date says', async () => {
    const bob = await login('bob', 'bob-secret-1');
    const identity = { country: 'EE', given_name: 'Mari', family_name: 'Maasikas', date_of_birth: birthDate(30), gender: 'Female' };
    const adult = await post(bob, 'preview', { name: 'bar', identity, scope: 'openid profile' });
    assert.equal(adult.status, 200, JSON.stringify(adult.body));
    assert.deepEqual(adult.body, { claims: { age_over_18: true }, subject_type: 'pairwise' });
    const minor = await post(bob, 'preview', { name: 'bar', identity: { ...identity, date_of_birth: birthDate(18, 1) }, scope: 'openid' });
    assert.deepEqual(minor.body, { claims: { age_over_18: false }, subject_type: 'pairwise' });
    const birthday = await post(bob, 'preview', { name: 'bar', identity: { ...identity, date_of_birth: birthDate(18) }, scope: 'openid' });
    assert.deepEqual(birthday.body.claims, { age_over_18: true });

    // an unsaved document, and the registry's claim names
    const unsaved = await post(bob, 'preview', {
      name: 'bar', identity, scope: 'openid profile',
      document: { release: ['given_name', 'gender', 'age_over_65'], subject_type: 'public' },
    });
    assert.equal(unsaved.status, 200);
    // the registration (pairwise by default) can hold a requester to pairwise whatever its policy says
    assert.deepEqual(unsaved.body, { claims: { given_name: 'Mari', gender: 'female' }, subject_type: 'pairwise' });
    const asked = await post(bob, 'preview', {
      name: 'bar', identity, scope: 'openid age_over_65',
      document: { release: ['given_name', 'age_over_65'] },
    });
    assert.deepEqual(asked.body.claims, { age_over_65: false });
    const invalid = await post(bob, 'preview', { name: 'bar', identity, scope: 'openid', document: { release: ['x'] } });
    assert.equal(invalid.status, 422);
    assert.match(invalid.body.message, /^\$\.release\[0\]: /);
    assert.equal((await post(bob, 'preview', { name: 'bar', identity: { given_name: 'Mari' }, scope: 'openid' })).status, 400);
    assert.equal((await post(bob, 'preview', { name: 'bar', identity: { country: 'EE', shoe: 42 }, scope: 'openid' })).status, 400);
    assert.equal((await post(bob, 'preview', { name: 'nobody', identity, scope: 'openid' })).status, 404);
    assert.equal((await post(null, 'preview', { name: 'bar', identity, scope: 'openid' })).status, 401);
  });

  test('every worker uses a saved version within a second (preview of the current policy)', async () => {
    const alice = await login('alice', 'alice-secret-1');
    const identity = { country: 'EE', given_name: 'Mari', date_of_birth: birthDate(30) };
    // warm every worker's cache with version 0
    for (let i = 0; i < 6; i++) {
      assert.deepEqual((await post(alice, 'preview', { name: 'bar', identity, scope: 'openid profile' })).body.claims, { age_over_18: true });
    }
    const s = await post(alice, 'policy?name=bar', { document: { profile: 'age-only', release: ['age_over_18', 'given_name'] }, why: 'names too', base_version: 0 });
    assert.equal(s.status, 201);
    await sleep(1100);
    for (let i = 0; i < 6; i++) {
      const r = await post(alice, 'preview', { name: 'bar', identity, scope: 'openid profile' });
      assert.deepEqual(r.body.claims, { age_over_18: true, given_name: 'Mari' });
    }
  });

  test('logout ends the session', async () => {
    const alice = await login('alice', 'alice-secret-1');
    const r = await fetch(`${base}/logout`, {
      method: 'POST', headers: { cookie: alice.cookie, 'x-csrf-token': alice.csrf, 'content-type': 'application/json' }, body: '{}',
    });
    assert.equal(r.status, 204);
    assert.match(r.headers.get('set-cookie'), /^eidhub_admin=; Path=\/admin; Max-Age=0/);
    assert.equal((await get(alice, 'session')).status, 401);
    assert.equal((await post(alice, 'validate', { document: {} })).status, 401);
  });
});
