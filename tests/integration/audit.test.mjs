// The audit trail (docs/audit.md) over real nginx, Redis and the Mobile-ID
// simulator: two logins at two portals and a policy change through the admin
// API are appended by nginx's workers; `eidhubctl audit verify` passes on
// that log and names the line after one edited by hand; neither the
// citizen's personal code nor their names are ever in it; a release that
// cannot be audited does not happen.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import {
  eidhubctl, mobileIdSettings, passwordHash, policyDirectory, startBroker, startMobileIdSim, startRedis, tmpdir,
} from '../lib/harness.mjs';
import { login } from '../lib/oidc-flow.mjs';
import { citizenByOutcome } from '../sim/mobile-id.mjs';

const sha256hex = (s) => crypto.createHash('sha256').update(s).digest('hex');
const CITY = { clientId: 'city', secret: 'city-secret-' + crypto.randomBytes(6).toString('hex'), redirectUri: 'http://127.0.0.1:9/city' };
const TAX = { clientId: 'tax', secret: 'tax-secret-' + crypto.randomBytes(6).toString('hex'), redirectUri: 'http://127.0.0.1:9/tax' };
const citizen = citizenByOutcome('OK_EC'); // Jaan Männik, 38001085718

let redis, sim, broker, logDir, logFile, policyDir;

before(async () => {
  redis = await startRedis();
  sim = await startMobileIdSim({ delayMs: 0 });
  // nginx's workers (nobody) create and append to the log
  logDir = tmpdir('eidhub-audit-');
  fs.chmodSync(logDir, 0o777);
  logFile = path.join(logDir, 'audit.jsonl');
  policyDir = policyDirectory();
  const rp = ({ clientId, secret, redirectUri }, policy, subject_type) => ({
    client_id: clientId, client_secret_sha256: sha256hex(secret), redirect_uris: [redirectUri],
    display_name: clientId, policy, subject_type,
  });
  broker = await startBroker({
    store: redis.url,
    broker: {
      relying_parties: [rp(CITY, 'basic', 'pairwise'), rp(TAX, 'full', 'public')],
      backends: { mobile_id: mobileIdSettings(sim) },
      policy_dir: policyDir,
      admin: { accounts: [{ user: 'ed', password_hash: passwordHash('ed-password-1'), role: 'editor' }] },
      audit: { file: logFile, checkpoint_every: 100 },
    },
  });
});
after(async () => {
  await broker?.stop(); await sim?.stop(); await redis?.stop();
  for (const d of [logDir, policyDir]) if (d) fs.rmSync(d, { recursive: true, force: true });
});

/** An editor's session at the admin API: {headers} for changes. */
async function editor() {
  const headers = { 'content-type': 'application/json', origin: broker.url };
  const r = await fetch(`${broker.url}/admin/api/login`, { method: 'POST', headers, body: JSON.stringify({ user: 'ed', password: 'ed-password-1' }) });
  assert.equal(r.status, 200);
  const { csrf } = await r.json();
  return { ...headers, cookie: r.headers.getSetCookie()[0].split(';')[0], 'x-csrf-token': csrf };
}

async function savePolicy(headers, body) {
  const r = await fetch(`${broker.url}/admin/api/policy?name=city`, { method: 'POST', headers, body: JSON.stringify(body) });
  return { status: r.status, body: await r.json() };
}

const entries = () => fs.readFileSync(logFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
const config = () => path.join(broker.dir, 'broker.json');

test('logins at two portals and a policy change are in the log, which verifies', async () => {
  const city = await login(broker.url, { ...CITY, scope: 'openid profile' }, citizen);
  assert.ok(city.callback.searchParams.get('code'));
  const tax = await login(broker.url, { ...TAX, scope: 'openid profile' }, citizen);
  assert.ok(tax.callback.searchParams.get('code'));
  const headers = await editor();
  const saved = await savePolicy(headers, { document: { profile: 'basic', release: ['given_name'] }, why: 'the city needs only the first name', base_version: 0 });
  assert.equal(saved.status, 201, JSON.stringify(saved.body));
  // a refused change of an administrator is there too
  const refused = await savePolicy(headers, { document: { release: ['shoe_size'] }, why: 'oops', base_version: 1 });
  assert.equal(refused.status, 422);

  const log = entries();
  assert.deepEqual(log.map((e) => e.type), ['release', 'release', 'policy_change', 'policy_refused']);
  assert.deepEqual(log.map((e) => e.seq), [1, 2, 3, 4]);
  const [r1, r2, change, refusal] = log;
  assert.equal(r1.requester, 'city');
  assert.equal(r1.method, 'mobile_id');
  assert.equal(r1.loa, 'high');
  assert.deepEqual(r1.attributes, ['family_name', 'given_name']);
  assert.deepEqual(r1.policy, { name: 'basic', version: 0 }); // version 0: the registration's profile
  assert.equal(r2.requester, 'tax');
  assert.ok(r2.attributes.includes('date_of_birth') && r2.attributes.includes('given_name'), r2.attributes.join());
  // the same pseudonym for the same citizen whichever portal, neither portal's sub
  assert.match(r1.subject, /^[A-Za-z0-9_-]{43}$/);
  assert.equal(r2.subject, r1.subject);
  assert.notEqual(r1.subject, city.callback.searchParams.get('sub'));
  assert.deepEqual({ ...change, prev: undefined, time: undefined }, {
    seq: 3, type: 'policy_change', name: 'city', old_version: 0, new_version: 1, account: 'ed',
    why: 'the city needs only the first name', action: 'edit', prev: undefined, time: undefined,
  });
  assert.equal(refusal.account, 'ed');
  assert.equal(refusal.endpoint, 'POST /admin/api/policy');
  assert.match(refusal.reason, /shoe_size/);

  // workers own the file they created
  assert.equal(fs.statSync(logFile).mode & 0o777, 0o640);

  const v = eidhubctl('audit', 'verify', '--config', config(), logFile);
  assert.equal(v.status, 0, v.stderr);
  const head = eidhubctl('audit', 'head', logFile);
  assert.equal(head.status, 0, head.stderr);
  assert.match(head.stdout, /^[A-Za-z0-9_-]{43}\n$/);
  assert.equal(v.stdout, `${logFile}: 4 entries, chain intact, no checkpoint yet, head ${head.stdout.trim()}\n`);
  // an outside party with the published JWK Set, and the published head
  const jwksFile = path.join(logDir, 'jwks.json');
  fs.writeFileSync(jwksFile, await (await fetch(`${broker.url}/jwks`)).text());
  const cp = eidhubctl('audit', 'checkpoint', config());
  assert.equal(cp.status, 0, cp.stderr);
  assert.match(cp.stdout, /checkpoint at seq 5, head [A-Za-z0-9_-]{43}\n$/);
  const v2 = eidhubctl('audit', 'verify', '--jwks', jwksFile, '--head', head.stdout.trim(), logFile);
  assert.equal(v2.status, 0, v2.stderr);
  assert.match(v2.stdout, /: 5 entries, chain intact, last checkpoint at seq 5, head [A-Za-z0-9_-]{43}, published head found\n$/);
  // the checkpoint needs keys
  const noKeys = eidhubctl('audit', 'verify', logFile);
  assert.equal(noKeys.status, 1);
  assert.match(noKeys.stderr, /line 5: a checkpoint, but no keys/);
});

test('neither the personal code nor the names are in the log', () => {
  const text = fs.readFileSync(logFile, 'utf8');
  for (const secret of [citizen.personalCode, citizen.givenName, citizen.surname, citizen.surname.toUpperCase(),
    citizen.givenName.toUpperCase(), citizen.dateOfBirth, `EE${citizen.personalCode}`, `PNOEE-${citizen.personalCode}`]) {
    assert.ok(!text.includes(secret), `${secret} is in the audit log`);
  }
});

test('one edited line is found and named', () => {
  const copy = path.join(logDir, 'edited.jsonl');
  const lines = fs.readFileSync(logFile, 'utf8').split('\n');
  assert.match(lines[0], /"requester":"city"/);
  lines[0] = lines[0].replace('"requester":"city"', '"requester":"tax"');
  fs.writeFileSync(copy, lines.join('\n'));
  const v = eidhubctl('audit', 'verify', '--config', config(), copy);
  assert.equal(v.status, 1);
  assert.equal(v.stdout, '');
  assert.match(v.stderr, /^.*edited\.jsonl: line 2: prev hash does not match line 1 \(edited or deleted entry/);
  // and a deleted one
  const deleted = fs.readFileSync(logFile, 'utf8').split('\n');
  deleted.splice(1, 1);
  fs.writeFileSync(copy, deleted.join('\n'));
  const d = eidhubctl('audit', 'verify', '--config', config(), copy);
  assert.equal(d.status, 1);
  assert.match(d.stderr, /line 2: seq 3 follows seq 1/);
});

test('a release that cannot be audited does not happen', async () => {
  // the log ends with an incomplete line, as after a crash in mid-write
  fs.appendFileSync(logFile, '{"seq":6,"time"');
  const before = fs.readFileSync(logFile, 'utf8');
  const cli = (...args) => spawnSync('redis-cli', ['-p', String(redis.port), ...args], { encoding: 'utf8' }).stdout;
  const sessions = () => cli('--scan', '--pattern', 'sso:*').split('\n').filter(Boolean);
  const sessionsBefore = new Set(sessions());
  const flow = await login(broker.url, { ...CITY, scope: 'openid profile' }, citizen);
  assert.equal(flow.callback.searchParams.get('error'), 'server_error');
  assert.equal(flow.callback.searchParams.get('code'), null);
  // the citizen's new SSO session (written with the requester, to save a round trip) no longer
  // lists the requester that got no answer: a logout would tell it of a session it never had
  const fresh = sessions().filter((k) => !sessionsBefore.has(k));
  assert.equal(fresh.length, 1);
  assert.deepEqual(JSON.parse(cli('GET', fresh[0])).requesters, {});
  // a policy change is refused before anything is saved
  const headers = await editor();
  const saved = await savePolicy(headers, { document: { profile: 'basic' }, why: 'back to the profile', base_version: 1 });
  assert.equal(saved.status, 503);
  assert.equal(saved.body.error, 'audit_unavailable');
  assert.deepEqual(fs.readdirSync(path.join(policyDir, 'city')).filter((f) => /2/.test(f)), []);
  assert.equal(fs.readFileSync(logFile, 'utf8'), before);
  assert.match(broker.errorLog(), /audit: .*audit\.jsonl: its last line is incomplete/);
  const v = eidhubctl('audit', 'verify', '--config', config(), logFile);
  assert.equal(v.status, 1);
  assert.match(v.stderr, /line 6: truncated/);
});
