// Redis Sentinel failover under load (issue 8): eidhub's store is a Sentinel
// URL naming three redis-sentinel processes that watch a master and a
// replica (real redis-server, Debian's redis-sentinel, all on loopback).
// Clients log in with Mobile-ID and redeem their codes in a loop while the
// test makes the sentinels fail over (SENTINEL FAILOVER), then kills the new
// master with SIGKILL. Each test reports how many logins failed around the
// failover, checks that logins work again a few seconds after it, and then
// redeems every code ever issued a second time: no code may be accepted
// twice, across either master.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { Agent } from '../lib/agent.mjs';
import { mobileIdSettings, startBroker, startMobileIdSim, startSentinelSet } from '../lib/harness.mjs';
import { login } from '../lib/oidc-flow.mjs';
import { citizenByOutcome } from '../sim/mobile-id.mjs';

const SECRET = 'portal-secret-' + crypto.randomBytes(8).toString('hex');
const CB = 'http://127.0.0.1:9/callback';
const CLIENTS = 4;
const RECOVERY_MS = 5000; // logins must work again this soon after the sentinels settled

let set, sim, broker;

before(async () => {
  [set, sim] = await Promise.all([startSentinelSet(), startMobileIdSim({ delayMs: 0 })]);
  broker = await startBroker({
    store: set.url, workers: 2, timeoutMs: 500,
    broker: {
      relying_parties: [{
        client_id: 'portal', client_secret_sha256: crypto.createHash('sha256').update(SECRET).digest('hex'),
        redirect_uris: [CB], display_name: 'City portal', policy: 'basic', subject_type: 'pairwise',
      }],
      backends: {
        mobile_id: mobileIdSettings(sim, {
          rate_limit: { per_person: 1000, per_phone: 1000, per_client_address: 100000, window_seconds: 60 },
        }),
      },
    },
  });
});
after(async () => { await broker?.stop(); await sim?.stop(); await set?.stop(); });

/** POST /token for a code; resolves {status, json}, status 0 when no answer came. */
async function redeem({ code, verifier }) {
  try {
    const res = await fetch(`${broker.url}/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: 'Basic ' + Buffer.from(`portal:${SECRET}`).toString('base64'),
      },
      body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: CB, code_verifier: verifier }).toString(),
      signal: AbortSignal.timeout(15000),
    });
    const text = await res.text();
    let json = null;
    try { json = JSON.parse(text); } catch { /* not JSON */ }
    return { status: res.status, json };
  } catch {
    return { status: 0, json: null };
  }
}

/** Every code issued during the file's tests: code -> {verifier, redeemed: [{status, error, ok}]}. */
const codes = new Map();

/** An Agent that remembers its last answer, to say where a login failed. */
class TracingAgent extends Agent {
  async request(url, opts = {}) {
    this.last = `${opts.method ?? 'GET'} ${new URL(url, this.base).pathname}`;
    const r = await super.request(url, opts);
    this.last += ` ${r.status}`;
    return r;
  }
}

/** The citizens the clients log in as, in turn (the per-person rate limit is at most 1000 a minute). */
const CITIZENS = ['OK', 'OK_EC', 'OK_UNDER_18'].map(citizenByOutcome);
let logins = 0;

/** One login and the redemption of its code; never throws. */
async function oneLogin() {
  const out = { ok: false, t0: Date.now() };
  const agent = new TracingAgent(broker.url);
  try {
    const flow = await login(broker.url, { clientId: 'portal', secret: SECRET, redirectUri: CB, agent },
      CITIZENS[logins++ % CITIZENS.length]);
    const code = flow.callback.searchParams.get('code');
    if (!code) throw new Error(`no code in ${flow.callback.href}`);
    const entry = { verifier: flow.verifier, redeemed: [] };
    codes.set(code, entry);
    const r = await redeem({ code, verifier: flow.verifier });
    const ok = r.status === 200 && typeof r.json?.access_token === 'string';
    entry.redeemed.push({ status: r.status, error: r.json?.error, ok });
    if (!ok) throw new Error(`POST /token ${r.status} ${r.json?.error ?? ''}`);
    out.ok = true;
  } catch (e) {
    out.error = e.message.startsWith('POST /token') ? e.message : agent.last ?? e.message.split('\n')[0];
  }
  out.t1 = Date.now();
  return out;
}

/** CLIENTS clients logging in one after another until stop() (bounded: 60 s). */
function loginStream() {
  const results = [];
  const end = Date.now() + 60000;
  let stopping = false;
  const clients = Array.from({ length: CLIENTS }, async () => {
    while (!stopping && Date.now() < end) {
      const r = await oneLogin();
      results.push(r);
      if (!r.ok) await sleep(50);
    }
  });
  return { results, async stop() { stopping = true; await Promise.all(clients); } };
}

/**
 * Runs the stream, lets it warm up, runs event() (the failover), keeps the
 * stream going until logins have worked for a while again, and reports.
 */
async function underLoad(t, what, event) {
  const stream = loginStream();
  for (const start = Date.now(); stream.results.filter((r) => r.ok).length < 2 * CLIENTS && Date.now() - start < 15000;) await sleep(100);
  assert.ok(stream.results.some((r) => r.ok), `no login worked before the ${what}: ${JSON.stringify(stream.results.slice(0, 3))}`);
  await sleep(500);
  const t0 = Date.now();
  const ev = await event();
  const settled = Date.now();
  // until 2 s without a failed login (bounded)
  const lastFailure = () => Math.max(settled, ...stream.results.filter((r) => !r.ok).map((r) => r.t1));
  for (const deadline = settled + RECOVERY_MS + 10000; Date.now() < deadline && Date.now() - lastFailure() < 2000;) await sleep(100);
  await stream.stop();
  const during = stream.results.filter((r) => r.t1 >= t0 && r.t0 <= settled);
  const after = stream.results.filter((r) => r.t0 > settled);
  const firstOk = after.filter((r) => r.ok).sort((a, b) => a.t1 - b.t1)[0];
  const failed = stream.results.filter((r) => !r.ok);
  const recovered = lastFailure();
  const reasons = {};
  for (const r of failed) reasons[r.error] = (reasons[r.error] ?? 0) + 1;
  const report = {
    what, from: ev.from, to: ev.to, failoverMs: ev.ms,
    logins: stream.results.length, failed: failed.length,
    inFlightAtFailover: during.length, failedAtFailover: during.filter((r) => !r.ok).length,
    afterSettled: after.length, failedAfterSettled: after.filter((r) => !r.ok).length,
    firstOkAfterSettledMs: firstOk ? firstOk.t1 - settled : null,
    failuresFromMs: failed.length ? Math.min(...failed.map((r) => r.t1)) - t0 : null,
    failuresToMs: failed.length ? Math.max(...failed.map((r) => r.t1)) - t0 : null,
    lastFailureAfterSettledMs: recovered - settled,
    reasons,
  };
  t.diagnostic(JSON.stringify(report));
  console.log(`sentinel ${what}: ${JSON.stringify(report)}`);
  assert.notEqual(ev.to, ev.from);
  assert.ok(firstOk, `no login worked after the ${what}`);
  // logins fail no more a few seconds after the sentinels settled, and work from then on
  assert.ok(recovered - settled <= RECOVERY_MS, `logins still failed ${recovered - settled} ms after the ${what}: ${JSON.stringify(failed.slice(-3))}`);
  assert.ok(stream.results.some((r) => r.ok && r.t0 > recovered), `no login worked after the last failure`);
  return report;
}

/** Redeems every code issued so far once more; checks that none was accepted twice. */
async function everyCodeOnceOnly(t) {
  for (const [code, entry] of codes) {
    const r = await redeem({ code, verifier: entry.verifier });
    entry.redeemed.push({ status: r.status, error: r.json?.error, ok: r.status === 200 && typeof r.json?.access_token === 'string' });
  }
  const twice = [...codes.values()].filter((e) => e.redeemed.filter((x) => x.ok).length > 1);
  const firstOk = [...codes.values()].filter((e) => e.redeemed[0]?.ok);
  const refusedAgain = firstOk.filter((e) => e.redeemed.at(-1).status === 400 && e.redeemed.at(-1).error === 'invalid_grant');
  const firstFailed = [...codes.values()].filter((e) => !e.redeemed[0]?.ok);
  const summary = {
    codes: codes.size, acceptedTwice: twice.length, firstRedemptionOk: firstOk.length,
    refusedAgainWithInvalidGrant: refusedAgain.length, firstRedemptionFailed: firstFailed.length,
    firstFailedThenAccepted: firstFailed.filter((e) => e.redeemed.at(-1).ok).length,
  };
  t.diagnostic(JSON.stringify(summary));
  console.log(`sentinel codes: ${JSON.stringify(summary)}`);
  assert.equal(twice.length, 0, 'a code was accepted twice');
  assert.equal(refusedAgain.length, firstOk.length, 'every code redeemed once is refused with invalid_grant the second time');
  for (const e of firstFailed) assert.notEqual(e.redeemed.at(-1).status, 0);
}

describe('eidhub on Redis Sentinel', () => {
  test('the store follows SENTINEL FAILOVER under load and no code is accepted twice', async (t) => {
    const health = await fetch(`${broker.url}/healthz`).then((r) => r.json());
    assert.deepEqual(health.store, { type: 'redis', reachable: true });
    await underLoad(t, 'failover', () => set.failover());
    await everyCodeOnceOnly(t);
  });

  test('the store follows the failover after the master is killed (SIGKILL) and no code is accepted twice', async (t) => {
    await set.ready(); // the old master has rejoined as a replica: there is one to promote
    await underLoad(t, 'master killed', () => set.killMaster());
    await everyCodeOnceOnly(t);
    assert.match(broker.errorLog(), /redis store: /, 'the store said what happened');
  });
});
