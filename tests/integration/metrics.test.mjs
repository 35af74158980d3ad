// Seeing it: /metrics in Prometheus' text format summed over nginx's
// workers, and the error log as one JSON object per line with a request id,
// a login id shared by the requests of one login, and no personal data.
// Real nginx (2 workers) + Redis + the Mobile-ID simulator.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, test } from 'node:test';
import { Agent, hiddenField } from '../lib/agent.mjs';
import { mobileIdSettings, startBroker, startMobileIdSim, startRedis } from '../lib/harness.mjs';
import { authorize, login, mobileId } from '../lib/oidc-flow.mjs';
import { citizenByOutcome } from '../sim/mobile-id.mjs';

const SECRET = 'portal-secret-' + crypto.randomBytes(8).toString('hex');
const sha256hex = (s) => crypto.createHash('sha256').update(s).digest('hex');
const PORTAL_CB = 'http://127.0.0.1:9/callback';

let redis, sim, broker;

before(async () => {
  redis = await startRedis();
  sim = await startMobileIdSim({ delayMs: 200 });
  broker = await startBroker({
    store: redis.url,
    workers: 2,
    broker: {
      relying_parties: [
        { client_id: 'portal', client_secret_sha256: sha256hex(SECRET), redirect_uris: [PORTAL_CB],
          display_name: 'City portal', policy: 'basic' },
      ],
      backends: { mobile_id: mobileIdSettings(sim) },
    },
  });
});
after(async () => { await broker?.stop(); await sim?.stop(); await redis?.stop(); });

const options = { clientId: 'portal', secret: SECRET, redirectUri: PORTAL_CB };

/** /metrics as a map from "name{labels}" to the number. */
async function metrics() {
  const res = await new Agent(broker.url).get('/metrics');
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
  const out = new Map();
  for (const line of res.text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-z_]+(?:\{.*\})?) ([0-9.]+)$/.exec(line);
    assert.ok(m, `not a sample line: ${line}`);
    out.set(m[1], Number(m[2]));
  }
  return { samples: out, text: res.text };
}

/** The sum of the samples whose key starts with prefix and holds every part. */
function sum(samples, prefix, ...parts) {
  let n = 0;
  for (const [k, v] of samples) if (k.startsWith(prefix) && parts.every((p) => k.includes(p))) n += v;
  return n;
}

test('one login and one failed login show up in /metrics, summed over the workers', async () => {
  const before = (await metrics()).samples;
  const ok = citizenByOutcome('OK');
  const done = await login(broker.url, options, ok);
  assert.ok(done.callback.searchParams.get('code'));

  const { agent } = await authorize(broker.url, options);
  await agent.get('/login');
  const refused = await mobileId(agent, citizenByOutcome('USER_CANCELLED'));
  assert.equal(refused.status, 200);
  const cancel = await agent.post('/cancel', { csrf: hiddenField(refused.text, 'csrf') });
  assert.equal(new URL(cancel.location).searchParams.get('error'), 'access_denied');

  // many requests, so that both workers answer some of them
  await Promise.all(Array.from({ length: 40 }, () => new Agent(broker.url).get('/jwks')));

  const { samples, text } = await metrics();
  const delta = (prefix, ...parts) => sum(samples, prefix, ...parts) - sum(before, prefix, ...parts);
  assert.equal(delta('eidhub_logins_started_total{', 'requester="portal"'), 2);
  assert.equal(delta('eidhub_logins_finished_total{', 'requester="portal"', 'method="mobile_id"', 'outcome="released"'), 1);
  assert.equal(delta('eidhub_logins_finished_total{', 'requester="portal"', 'outcome="access_denied"'), 1);
  assert.equal(delta('eidhub_requests_total{', 'endpoint="/jwks"', 'status="2xx"'), 40);
  assert.equal(delta('eidhub_requests_total{', 'endpoint="/authorize"', 'status="3xx"'), 2);
  assert.equal(delta('eidhub_request_duration_seconds_count{', 'endpoint="/jwks"'), 40);
  assert.match(text, /^eidhub_request_duration_seconds_bucket\{endpoint="\/auth\/mid\/status",le="\+Inf"\} \d+$/m);
  assert.match(text, /^# TYPE eidhub_request_duration_seconds histogram$/m);
  assert.ok(delta('eidhub_upstream_duration_seconds_count{', 'upstream="mobile_id"') >= 4, 'Mobile-ID calls measured');
  // the successful login's certificate was checked with the CA's OCSP responder once
  assert.equal(delta('eidhub_upstream_duration_seconds_count{', 'upstream="ocsp"'), 1, 'OCSP call measured');
  assert.ok(delta('eidhub_store_duration_seconds_count{', 'op="get"') > 0, 'store calls measured');
  assert.equal(samples.get('eidhub_store_errors_total{op="get"}'), 0);
  assert.ok(samples.has('eidhub_rate_limited_total{section="mid"}'));

  // whichever worker answers /metrics (each request on a new connection), the
  // numbers are the same: they are the sum in shared memory, not one worker's
  const jwks = samples.get('eidhub_requests_total{endpoint="/jwks",status="2xx"}');
  for (let i = 0; i < 10; i++) {
    const again = await metrics();
    assert.equal(again.samples.get('eidhub_requests_total{endpoint="/jwks",status="2xx"}'), jwks);
  }
});

test('the error log holds one JSON object per eidhub line, with ids and no personal data', async () => {
  const citizen = citizenByOutcome('OK');
  const done = await login(broker.url, options, citizen);
  assert.ok(done.callback.searchParams.get('code'));
  const requestId = done.done.headers.get('x-request-id');
  assert.match(requestId, /^[0-9a-f]{32}$/);

  const lines = broker.errorLog().split('\n').filter((l) => l.startsWith('{'));
  const objects = lines.map((l) => JSON.parse(l));
  assert.ok(objects.length > 0);
  for (const o of objects) {
    assert.match(o.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.ok(['error', 'warn', 'info', 'debug'].includes(o.level));
    assert.equal(typeof o.msg, 'string');
  }
  // nginx's own lines still look like nginx's; no eidhub line is left in text
  assert.ok(!broker.errorLog().includes(' eidhub: '), 'every eidhub line is JSON');

  // the finish request of this login logged "login completed" with its request id ...
  const completed = objects.find((o) => o.request_id === requestId && /login completed/.test(o.msg));
  assert.ok(completed, 'the finishing request logged with its X-Request-Id');
  assert.match(completed.login_id, /^[A-Za-z0-9_-]{16}$/);
  // ... and other requests of the same login (the status poll) the same login id
  const sameLogin = objects.filter((o) => o.login_id === completed.login_id);
  assert.ok(new Set(sameLogin.map((o) => o.request_id)).size >= 2,
    `several requests share login ${completed.login_id}: ${JSON.stringify(sameLogin)}`);
  // another login has another id
  const others = objects.filter((o) => o.login_id && o.login_id !== completed.login_id);
  assert.ok(others.length > 0);

  const log = broker.errorLog();
  assert.ok(!log.includes(citizen.personalCode), 'the personal code is not logged');
  assert.ok(!log.includes(citizen.phone), 'the phone number is not logged');
});

test('every worker gives its malloc heaps\' free memory back every 10 s (eidhub_heap_trims_total)', async () => {
  // each of the 2 workers trims once in any 10 s: the sum grows by 2 in a
  // little over 10 s; it would not grow at all if the trim never ran
  const first = (await metrics()).samples.get('eidhub_heap_trims_total');
  assert.equal(typeof first, 'number');
  let now = first;
  for (let waited = 0; now < first + 2 && waited < 30; waited++) {
    await new Promise((r) => setTimeout(r, 1000));
    now = (await metrics()).samples.get('eidhub_heap_trims_total');
  }
  assert.ok(now >= first + 2, `the trims went from ${first} to ${now} in 30 s, not by 2 (one per worker)`);
});
