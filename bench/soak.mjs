// eidhub soak run (issue 8): an hour of mixed logins at half of the measured
// capacity, with a fault injected every few minutes, then the store left to
// drain. Run through bench/soak; see bench/README.md ("Soak").
//
// Logins (each a new browser, the test suite's drivers in tests/lib): Mobile-ID,
// Smart-ID, a national OpenID Connect provider (oidc-provider, profile "fr"),
// eIDAS through a second eidhub node (the Proxy-Service of "EE", whose citizens
// use Mobile-ID), single sign-on to a second portal, a portal whose policy asks
// for consent, and citizens who give up half-way (their transaction must
// expire). Every finished login exchanges its code at /token and calls
// /userinfo. Faults, in turn: Redis killed (SIGKILL) and started again after
// 5 s on its append-only file; `nginx -s reload`; the Mobile-ID simulator
// stopped (SIGSTOP) for 10 s; the national provider restarted (new signing
// key, its sessions lost). Every 10 s: logins and errors by method, latency,
// each nginx worker's RSS by pid, Redis keys, eidhub's /metrics.
// Everything listens on loopback and every process started is stopped by pid.
import { AsyncLocalStorage } from 'node:async_hooks';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { machineBusy, pct, runPool, setLog } from './driver.mjs';
import { report } from './soak-report.mjs';
import { Agent, elementText, hiddenField } from '../tests/lib/agent.mjs';
import {
  freePort, mobileIdSettings, passwordHash, policyDirectory, respCommand, smartIdSettings, startBroker,
  startMobileIdSim, startRedis, startSmartIdSim, tmpdir,
} from '../tests/lib/harness.mjs';
import { authorize, mobileId, rpConfig, smartId } from '../tests/lib/oidc-flow.mjs';
import { loginAtProvider, nationalProviderSettings, providerAgent, startNationalOidcProcess } from '../tests/lib/oidc-upstream.mjs';
import { samlForm, samlNode } from '../tests/lib/saml-node.mjs';
import { citizenByOutcome } from '../tests/sim/mobile-id.mjs';
import { accountByOutcome } from '../tests/sim/smart-id.mjs';

// the test suite's openid-client (tests/node_modules), the one tests/lib/oidc-flow.mjs uses
const oidc = await import(path.resolve(import.meta.dirname, '../tests/node_modules/openid-client/build/index.js'));

const { values: opt } = parseArgs({ options: {
  minutes: { type: 'string', default: process.env.SOAK_MINUTES ?? '60' },
  'fault-every': { type: 'string', default: process.env.SOAK_FAULT_EVERY ?? '5' },      // minutes
  rate: { type: 'string', default: process.env.SOAK_RATE ?? '' },                        // logins/s; empty: half the measured capacity
  'capacity-seconds': { type: 'string', default: process.env.SOAK_CAPACITY_SECONDS ?? '30' },
  vus: { type: 'string', default: process.env.SOAK_VUS ?? '16' },                        // clients of the capacity run
  'drain-minutes': { type: 'string', default: process.env.SOAK_DRAIN_MINUTES ?? '' },     // empty: the longest TTL + 1
  'sample-seconds': { type: 'string', default: process.env.SOAK_SAMPLE_SECONDS ?? '10' },
  'fault-grace': { type: 'string', default: process.env.SOAK_FAULT_GRACE ?? '15' },      // seconds a fault window lasts after recovery
  'max-inflight': { type: 'string', default: process.env.SOAK_MAX_INFLIGHT ?? '200' },
  'login-timeout': { type: 'string', default: process.env.SOAK_LOGIN_TIMEOUT ?? '60' },  // seconds: a login still running then fails
  eidas: { type: 'boolean', default: process.env.SOAK_EIDAS !== '0' },
  'no-eidas': { type: 'boolean', default: false },
  out: { type: 'string', default: path.join(import.meta.dirname, 'results') },
} });
const num = (k) => Number(opt[k]);
const WITH_EIDAS = opt.eidas && !opt['no-eidas'];
const log = (m) => process.stderr.write(`[soak ${new Date().toISOString().slice(11, 19)}] ${m}\n`);
setLog(log);

// ---------------------------------------------------------------- the lifetimes the drain depends on
// Fixed in the code (ms), and configured below: a key of the store outlives none of these.
const SSO_MINUTES = 2;      // sso.lifetime_minutes, every level (the shortest allowed is 1)
const RETENTION_DAYS = 1;   // my_eidhub.retention_days (the shortest allowed): "rel:" records, one per citizen
const RL_WINDOW_S = 1;      // rate_limit.window_seconds of Mobile-ID and Smart-ID
const ADMIN_MINUTES = 1;    // admin.session_minutes (the shortest allowed); the soak's editor logs out anyway
const TTL = {               // key prefix -> longest TTL (ms) eidhub gives it, and where it comes from
  txn: [15 * 60e3, 'EH_TXN_TTL_MS (broker/txn.h): a login transaction, abandoned ones included'],
  at: [600e3, 'EH_OIDC_TOKEN_TTL_S (broker/frontends/oidc_op.h): access tokens'],
  codeused: [600e3, 'EH_OIDC_TOKEN_TTL_S: a redeemed code (revokes its token on replay)'],
  code: [30e3, 'EH_OIDC_CODE_TTL_S: authorization codes'],
  sso: [SSO_MINUTES * 60e3, 'sso.lifetime_minutes (configured here)'],
  ssosid: [SSO_MINUTES * 60e3, 'the session index (broker/sso.c), as long as its session'],
  slo: [SSO_MINUTES * 60e3, 'eIDAS logout index (eidas_connector.c, eidas_proxy.c): what is left of the session'],
  'rl:mid': [RL_WINDOW_S * 1e3, 'Mobile-ID rate_limit.window_seconds (configured here)'],
  'rl:sid': [RL_WINDOW_S * 1e3, 'Smart-ID rate_limit.window_seconds (configured here)'],
  'rl:admlogin': [300e3, 'ADMIN_LOGIN_WINDOW_S (policies/admin_api.c): administrator login attempts'],
  adm: [ADMIN_MINUTES * 60e3, 'admin.session_minutes (configured here): an administrator\'s session'],
  samlresp: [120e3, 'STASH_TTL_MS (eidas_connector.c): the ACS hands the response to /auth/eidas/return'],
  'replay:saml': [360e3, 'assertion NotOnOrAfter + clock skew (eidas_connector.c): saml.assertion_valid_seconds 300 + clock_skew_seconds 60 of the node'],
  'replay:samlreq': [600e3, 'REPLAY_TTL_MS (eidas_proxy.c): AuthnRequest ids seen'],
  'replay:samlslo': [600e3, 'SLO_REPLAY_TTL_MS: LogoutRequest ids seen'],
  rel: [RETENTION_DAYS * 86400e3, 'my_eidhub.retention_days (configured here): one record list per citizen'],
};
/** The TTL table's name of a key: its first part, or its first two for the sections of rl: and replay:. */
export const prefixOf = (key) => { const p = key.split(':'); return p[0] === 'rl' || p[0] === 'replay' ? `${p[0]}:${p[1]}` : p[0]; };
const FLOW_TTL_MS = Math.max(...Object.entries(TTL).filter(([k]) => k !== 'rel').map(([, v]) => v[0]));
const DRAIN_MIN = opt['drain-minutes'] ? num('drain-minutes') : Math.ceil(FLOW_TTL_MS / 60e3) + 1;
const WATCHDOG_MS = (num('minutes') + DRAIN_MIN + num('capacity-seconds') / 60 + 15) * 60e3;
setTimeout(() => { log('overall time limit reached'); process.exit(2); }, WATCHDOG_MS).unref();

// ---------------------------------------------------------------- set-up
const hex = () => crypto.randomBytes(8).toString('hex');
const sha256hex = (s) => crypto.createHash('sha256').update(s).digest('hex');
const RATE = { per_person: 1000, per_client_address: 100000, window_seconds: RL_WINDOW_S }; // the maxima allowed
const PORTAL = { clientId: 'portal', secret: `portal-${hex()}`, redirectUri: 'http://127.0.0.1:9/portal', scope: 'openid profile' };
const PORTAL2 = { clientId: 'portal2', secret: `portal2-${hex()}`, redirectUri: 'http://127.0.0.1:9/portal2', scope: 'openid profile' };
const YOUTH = { clientId: 'youth', secret: `youth-${hex()}`, redirectUri: 'http://127.0.0.1:9/youth', scope: 'openid age_over_18' };
const FR = { clientId: 'eidhub-fr', clientSecret: `fr-${hex()}` };
const MID_CITIZENS = ['OK', 'OK_EC', 'OK_UNDER_18'].map(citizenByOutcome);
const SID_ACCOUNTS = ['OK', 'OK_ALSO_MOBILE_ID', 'OK_UNDER_18', 'OK_LV'].map(accountByOutcome);
const FR_CITIZENS = ['jean', 'marie'];
const EIDAS_CITIZENS = ['OK', 'OK_EC'].map(citizenByOutcome);
const pick = (arr) => arr[Math.floor(Math.random() * arr.length)];

const cleanup = [];
async function stopAll() { for (const f of cleanup.reverse()) { try { await f(); } catch { /* */ } } cleanup.length = 0; }
process.on('SIGINT', async () => { log('interrupted'); await stopAll(); process.exit(130); });

const S = {}; // the running system: redis, mid, sid, fr, a, b
const R = { started: new Date().toISOString(), params: { ...opt, eidas: WITH_EIDAS, drainMinutes: DRAIN_MIN },
  machine: `${os.cpus().length} × ${os.cpus()[0].model}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.release()}`,
  ttl: Object.fromEntries(Object.entries(TTL).map(([k, [ms, why]]) => [k, { ms, why }])), flowTtlMs: FLOW_TTL_MS };

async function setUp() {
  S.redis = await startRedis({ appendonly: true });
  cleanup.push(() => S.redis.stop());
  [S.mid, S.sid] = await Promise.all([startMobileIdSim({ delayMs: 0 }), startSmartIdSim({ delayMs: 0 })]);
  cleanup.push(() => S.mid.stop(), () => S.sid.stop());
  const dirA = tmpdir('eidhub-soak-a-'); const dirB = tmpdir('eidhub-soak-b-');
  const portA = await freePort(); const portB = await freePort();
  const urlA = `http://127.0.0.1:${portA}`; const urlB = `http://127.0.0.2:${portB}`;
  S.frOptions = { profile: 'fr', ...FR, redirectUri: `${urlA}/auth/oidc/callback` };
  S.fr = await startNationalOidcProcess(S.frOptions);
  cleanup.push(() => S.fr.stop());
  const [nodeA, nodeB] = WITH_EIDAS ? await Promise.all([samlNode(dirA, 'LV', { signing: 'ec' }), samlNode(dirB, 'EE', { signing: 'ec' })]) : [];
  const rp = (p, name, policy) => ({ client_id: p.clientId, client_secret_sha256: sha256hex(p.secret), redirect_uris: [p.redirectUri],
    display_name: { en: name }, policy, subject_type: 'pairwise' });
  // an hour of requests: no access log, and of eidhub's lines only warnings and errors (counted in the report)
  const quiet = 'access_log off;';
  S.a = await startBroker({
    dir: dirA, port: portA, store: S.redis.url, workers: 2, timeoutMs: 1000, extraHttp: quiet, errorLogLevel: 'notice',
    broker: {
      relying_parties: [rp(PORTAL, 'City portal', 'basic'), rp(PORTAL2, 'Library', 'basic'), rp(YOUTH, 'Youth services', 'age-only')],
      sso: { enabled: true, lifetime_minutes: { low: SSO_MINUTES, substantial: SSO_MINUTES, high: SSO_MINUTES } },
      my_eidhub: { retention_days: RETENTION_DAYS },
      policy_dir: policyDirectory(),
      admin: { accounts: [{ user: 'ed', password_hash: passwordHash('soak-editor-pw-1'), role: 'editor' }], session_minutes: ADMIN_MINUTES },
      ...(WITH_EIDAS ? { saml: nodeA.settings } : {}),
      backends: {
        mobile_id: mobileIdSettings(S.mid, { rate_limit: { ...RATE, per_phone: 1000 } }),
        smart_id: smartIdSettings(S.sid, { rate_limit: RATE }),
        oidc_upstream: { jwks_refresh_min_seconds: 1, request_timeout_ms: 3000, providers: [nationalProviderSettings('fr', S.fr, FR)] },
        ...(WITH_EIDAS ? { eidas_connector: { countries: [{ country: 'EE', metadata: `${urlB}/saml/proxy/metadata`,
          trust_anchor_file: nodeB.signingCert, display_name: 'Estonia' }] } } : {}),
      },
    },
  });
  cleanup.push(() => S.a.stop());
  if (WITH_EIDAS) {
    S.b = await startBroker({
      dir: dirB, port: portB, host: '127.0.0.2', store: S.redis.url.replace(/\/0$/, '/1'), workers: 1, timeoutMs: 1000, extraHttp: quiet, errorLogLevel: 'notice',
      broker: {
        saml: nodeB.settings,
        sso: { enabled: false },
        my_eidhub: { retention_days: RETENTION_DAYS },
        backends: { mobile_id: mobileIdSettings(S.mid, { rate_limit: { ...RATE, per_phone: 1000 } }) },
        eidas_proxy: { connectors: [{ id: 'lv', metadata: `${urlA}/saml/connector/metadata`, trust_anchor_file: nodeA.signingCert,
          policy: 'full', display_name: 'Latvia' }] }, // the eIDAS minimum data set: name, birth date, identifier
      },
    });
    cleanup.push(() => S.b.stop());
  }
  // an editor turns consent on for the youth portal, as an administrator would
  const headers = { 'content-type': 'application/json', origin: S.a.url };
  const login = await fetch(`${S.a.url}/admin/api/login`, { method: 'POST', headers, body: JSON.stringify({ user: 'ed', password: 'soak-editor-pw-1' }) });
  const { csrf } = await login.json();
  const saved = await fetch(`${S.a.url}/admin/api/policy?name=youth`, {
    method: 'POST', headers: { ...headers, cookie: login.headers.getSetCookie()[0].split(';')[0], 'x-csrf-token': csrf },
    body: JSON.stringify({ document: { profile: 'age-only', consent: true }, why: 'soak: ask the citizen first', base_version: 0 }),
  });
  if (saved.status !== 201) throw new Error(`consent policy: HTTP ${saved.status} ${await saved.text()}`);
  await fetch(`${S.a.url}/admin/api/logout`, { method: 'POST', headers: { ...headers, cookie: login.headers.getSetCookie()[0].split(';')[0], 'x-csrf-token': csrf } });
  await sleep(1100); // every worker sees the new version within a second
  for (const p of [PORTAL, PORTAL2, YOUTH]) p.config = await rpConfig(S.a.url, p.clientId, p.secret);
}

// ---------------------------------------------------------------- one login of each kind
/** A failure with a short, stable kind (the step and what went wrong), for counting. */
class StepError extends Error {
  constructor(step, what) { super(`${step}: ${what}`); this.kind = `${step}: ${what}`; }
}
function kindOf(step, e) {
  if (e instanceof StepError) return e.kind;
  if (e?.code === 'ERR_ASSERTION') return `${step}: got ${String(e.actual).slice(0, 40)}, expected ${String(e.expected).slice(0, 40)}`;
  const cause = e?.cause?.code ?? e?.cause?.name ?? e?.code ?? e?.name;
  const msg = String(e?.message ?? e).split('\n')[0].replace(/[A-Za-z0-9_-]{20,}/g, '…').slice(0, 80);
  return `${step}: ${cause ? `${cause} ` : ''}${msg}`;
}
const current = new AsyncLocalStorage(); // the running login's {step}: what a login stuck at its timeout was doing
async function step(name, fn) {
  const ctx = current.getStore();
  if (ctx) ctx.step = name;
  try { return await fn(); } catch (e) { throw new StepError(name, kindOf(name, e).slice(name.length + 2)); }
}
const want = (r, status, what) => {
  if (r.status !== status) {
    const page = elementText(r.text ?? '', 'error');
    throw new StepError(what, `HTTP ${r.status}${r.location ? ` to ${new URL(r.location).pathname}` : ''}${page ? ` "${page.trim().slice(0, 60)}"` : ''}`);
  }
  return r;
};
const pathOf = (url) => new URL(url).pathname;

async function start(p, agent, extra = {}) {
  const flow = await step('authorize', () => authorize(S.a.url, { ...p, agent, config: p.config, extra }));
  want(flow.first, 303, 'authorize');
  return flow;
}
/** The portal's side after the redirect: code → tokens (ID token claims checked) → userinfo. */
async function tokens(p, flow, location) {
  if (!location?.startsWith(`${p.redirectUri}?`)) throw new StepError('callback', `to ${location ? pathOf(location) : 'nowhere'}`);
  const t = await step('token', () => oidc.authorizationCodeGrant(p.config, new URL(location), {
    pkceCodeVerifier: flow.verifier, expectedState: flow.state, expectedNonce: flow.nonce, idTokenExpected: true }));
  await step('userinfo', () => oidc.fetchUserInfo(p.config, t.access_token, t.claims().sub));
  return t;
}
async function midLogin(p = PORTAL, agent) {
  const flow = await start(p, agent);
  want(await step('login page', () => flow.agent.get('/login')), 200, 'login page');
  const done = want(await step('mid', () => mobileId(flow.agent, pick(MID_CITIZENS))), 303, 'mid finish');
  return { flow, done };
}

const LOGINS = {
  async mid() { const { flow, done } = await midLogin(); await tokens(PORTAL, flow, done.location); },
  async sid() {
    const flow = await start(PORTAL);
    want(await step('login page', () => flow.agent.get('/login')), 200, 'login page');
    const done = want(await step('sid', () => smartId(flow.agent, pick(SID_ACCOUNTS))), 303, 'sid finish');
    await tokens(PORTAL, flow, done.location);
  },
  async oidc() {
    const flow = await start(PORTAL);
    const go = want(await step('oidc start', () => flow.agent.get('/auth/oidc?provider=fr')), 303, 'oidc start');
    const back = await step('provider', () => loginAtProvider(providerAgent(S.fr), go.location, pick(FR_CITIZENS)));
    const done = want(await step('oidc callback', () => flow.agent.get(back)), 303, 'oidc callback');
    await tokens(PORTAL, flow, done.location);
  },
  async eidas() {
    const flow = await start(PORTAL);
    const page = want(await step('eidas start', () => flow.agent.get('/auth/eidas?country=EE')), 200, 'eidas start');
    const request = await step('eidas request', async () => samlForm(page.text));
    const agentB = new Agent(S.b.url);
    want(await step('proxy sso', () => agentB.post(request.action, request.fields)), 303, 'proxy sso');
    await step('proxy login page', () => agentB.get('/login'));
    const answer = want(await step('proxy mid', () => mobileId(agentB, pick(EIDAS_CITIZENS))), 200, 'proxy mid');
    const response = await step('eidas response', async () => samlForm(answer.text));
    const acs = want(await step('acs', () => new Agent(S.a.url).post(response.action, response.fields)), 303, 'acs');
    const done = want(await step('eidas return', () => flow.agent.get(acs.location)), 303, 'eidas return');
    await tokens(PORTAL, flow, done.location);
  },
  /** A Mobile-ID login at the portal, then the library in the same browser: single sign-on after a confirmation. */
  async sso() {
    const { flow, done } = await midLogin();
    const { agent } = flow;
    await tokens(PORTAL, flow, done.location);
    const second = await start(PORTAL2, agent);
    if (pathOf(second.first.location) !== '/sso') throw new StepError('sso', `sent to ${pathOf(second.first.location)}`);
    const page = want(await step('sso page', () => agent.get('/sso')), 200, 'sso page');
    const cont = want(await step('sso continue', () => agent.post('/sso', { csrf: hiddenField(page.text, 'csrf'), decision: 'continue' })), 303, 'sso continue');
    await tokens(PORTAL2, second, cont.location);
  },
  async consent() {
    const { flow, done } = await midLogin(YOUTH);
    if (pathOf(done.location) !== '/consent') throw new StepError('consent', `sent to ${pathOf(done.location)}`);
    const page = want(await step('consent page', () => flow.agent.get('/consent')), 200, 'consent page');
    const allowed = want(await step('consent allow', () => flow.agent.post('/consent', { csrf: hiddenField(page.text, 'csrf'), decision: 'allow' })), 303, 'consent allow');
    await tokens(YOUTH, flow, allowed.location);
  },
  /** A citizen who never finishes, at one of four points: the transaction stays until its TTL. */
  async abandoned() {
    const where = pick(['method choice', 'mid started', 'at the provider', 'consent page']);
    const p = where === 'consent page' ? YOUTH : PORTAL;
    const flow = await start(p);
    want(await step('login page', () => flow.agent.get('/login')), 200, 'login page');
    if (where === 'mid started') {
      const form = want(await step('mid form', () => flow.agent.get('/auth/mid')), 200, 'mid form');
      const c = pick(MID_CITIZENS);
      want(await step('mid start', () => flow.agent.post('/auth/mid', { csrf: hiddenField(form.text, 'csrf'), phone: c.phone, personal_code: c.personalCode })), 303, 'mid start');
    } else if (where === 'at the provider') {
      const go = want(await step('oidc start', () => flow.agent.get('/auth/oidc?provider=fr')), 303, 'oidc start');
      want(await step('provider', () => providerAgent(S.fr).get(go.location)), 303, 'provider');
    } else if (where === 'consent page') {
      const done = want(await step('mid', () => mobileId(flow.agent, pick(MID_CITIZENS))), 303, 'mid finish');
      want(await step('consent page', () => flow.agent.get(done.location)), 200, 'consent page');
    }
  },
};
const MIX = { mid: 25, sid: 15, oidc: 15, eidas: 10, sso: 10, consent: 10, abandoned: 15 };
if (!WITH_EIDAS) delete MIX.eidas;
const MIX_TOTAL = Object.values(MIX).reduce((s, w) => s + w, 0);
function pickKind() {
  let x = Math.random() * MIX_TOTAL;
  for (const [k, w] of Object.entries(MIX)) { x -= w; if (x < 0) return k; }
  return 'mid';
}

// ---------------------------------------------------------------- accounting
const T0 = { ms: 0 };
const now = () => (performance.now() - T0.ms) / 1000; // seconds since the soak's load began
const events = []; // {t0 (start), t (end), kind, ok, ms, error}
let inflight = 0; let shed = 0;
async function runOne(kind) {
  const t0 = performance.now(); const start = now();
  const ctx = { step: 'start' };
  let timer;
  const timeout = new Promise((resolve, reject) => {
    timer = setTimeout(() => reject(new StepError(ctx.step, `no answer in ${opt['login-timeout']} s`)), num('login-timeout') * 1000);
  });
  inflight++;
  try {
    await Promise.race([current.run(ctx, () => LOGINS[kind]()), timeout]);
    events.push({ t0: start, t: now(), kind, ok: true, ms: performance.now() - t0 });
  } catch (e) {
    events.push({ t0: start, t: now(), kind, ok: false, ms: performance.now() - t0, error: e instanceof StepError ? e.kind : kindOf('?', e) });
  } finally { clearTimeout(timer); inflight--; }
}

// ---------------------------------------------------------------- sampling
const samples = [];
const workerPids = (master) => {
  try {
    return fs.readFileSync(`/proc/${master}/task/${master}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number)
      .filter((pid) => { try { return /worker process/.test(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8')); } catch { return false; } });
  } catch { return []; }
};
const rssKiB = (pid) => { try { return Number(fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)[1]); } catch { return null; } };
async function redisFacts() {
  try {
    const db0 = await respCommand(S.redis.port, ['DBSIZE'], 1000);
    const info = await respCommand(S.redis.port, ['INFO'], 1000);
    const keyspace = Object.fromEntries([...info.matchAll(/^(db\d+):keys=(\d+),expires=(\d+)/gm)].map((m) => [m[1], { keys: Number(m[2]), expires: Number(m[3]) }]));
    return { dbsize: db0, keyspace, usedMemory: Number(info.match(/used_memory:(\d+)/)?.[1]) };
  } catch (e) { return { error: kindOf('redis', e) }; }
}
/** The module's /metrics, the series this report reads, summed over their other labels. */
async function metrics() {
  try {
    const text = await (await fetch(`${S.a.url}/metrics`, { signal: AbortSignal.timeout(3000) })).text();
    const m = { requests: {}, finished: {}, storeErrors: 0, rateLimited: 0 };
    for (const line of text.split('\n')) {
      let x;
      if ((x = line.match(/^eidhub_requests_total\{.*status="(\w+)".*\} (\d+)/))) m.requests[x[1]] = (m.requests[x[1]] ?? 0) + Number(x[2]);
      else if ((x = line.match(/^eidhub_logins_finished_total\{.*outcome="(\w+)".*\} (\d+)/))) m.finished[x[1]] = (m.finished[x[1]] ?? 0) + Number(x[2]);
      else if ((x = line.match(/^eidhub_store_errors_total\{.*\} (\d+)/))) m.storeErrors += Number(x[1]);
      else if ((x = line.match(/^eidhub_rate_limited_total\{.*\} (\d+)/))) m.rateLimited += Number(x[1]);
    }
    return m;
  } catch (e) { return { error: kindOf('metrics', e) }; }
}
let sampledUpTo = 0; let busy0 = machineBusy(); let busyT = performance.now();
async function sample(phase) {
  const t = now();
  const slice = events.filter((e) => e.t > sampledUpTo && e.t <= t);
  sampledUpTo = t;
  const byKind = {};
  for (const e of slice) {
    const k = (byKind[e.kind] ??= { ok: 0, failed: 0 });
    if (e.ok) k.ok++; else { k.failed++; (k.errors ??= {})[e.error] = (k.errors[e.error] ?? 0) + 1; }
  }
  const lat = slice.filter((e) => e.ok && e.kind !== 'abandoned').map((e) => e.ms);
  const workers = {};
  for (const [node, b] of [['A', S.a], ['B', S.b]]) if (b) for (const pid of workerPids(b.pid)) workers[pid] = { node, rss: rssKiB(pid) };
  const busy = machineBusy(); const cores = (busy - busy0) / ((performance.now() - busyT) / 1000); busy0 = busy; busyT = performance.now();
  const s = { t: Math.round(t), phase, ok: slice.filter((e) => e.ok).length, failed: slice.filter((e) => !e.ok).length, byKind,
    p50: pct(lat, 50), p99: pct(lat, 99), inflight, shed, workers, redis: await redisFacts(), metrics: await metrics(),
    machineCores: cores, loadavg: os.loadavg()[0] };
  samples.push(s);
  const rss = Object.entries(workers).map(([pid, w]) => `${w.node}${pid}:${Math.round(w.rss / 1024)}M`).join(' ');
  log(`${phase} t=${s.t}s ok ${s.ok} failed ${s.failed} p50 ${s.p50?.toFixed?.(0)} p99 ${s.p99?.toFixed?.(0)} ms inflight ${inflight} `
    + `keys ${s.redis.dbsize ?? s.redis.error} rss ${rss}${s.failed ? ` errors ${JSON.stringify(Object.fromEntries(Object.entries(byKind).filter(([, v]) => v.failed).map(([k, v]) => [k, v.errors])))}` : ''}`);
  return s;
}

// ---------------------------------------------------------------- faults
const FAULTS = [
  ['redis killed', async (f) => {
    await S.redis.kill();
    await sleep(5000);
    S.redis = await startRedis({ port: S.redis.port, dir: S.redis.dir, appendonly: true });
    f.note = 'SIGKILL, started again after 5 s from its append-only file';
  }],
  ['nginx reload', async (f) => {
    const before = workerPids(S.a.pid);
    await S.a.reload();
    f.note = `workers ${before.join(', ')} -> ${workerPids(S.a.pid).join(', ')}`;
  }],
  ['Mobile-ID simulator stopped', async (f) => {
    process.kill(S.mid.pid, 'SIGSTOP');
    await sleep(10000);
    process.kill(S.mid.pid, 'SIGCONT');
    f.note = 'SIGSTOP for 10 s, then SIGCONT';
  }],
  ['national OIDC provider restarted', async (f) => {
    const { port } = S.fr;
    await S.fr.stop();
    S.fr = await startNationalOidcProcess({ ...S.frOptions, port });
    f.note = 'same port, a new signing key, its sessions lost';
  }],
];
const faults = [];
async function inject(n) {
  const [kind, fn] = FAULTS[n % FAULTS.length];
  const f = { kind, start: now() };
  faults.push(f);
  log(`fault ${n + 1}: ${kind}`);
  try { await fn(f); } catch (e) { f.error = String(e.message ?? e); log(`fault ${kind} failed: ${f.error}`); }
  f.end = now();
  f.windowEnd = f.end + num('fault-grace');
  log(`fault ${n + 1}: ${kind} over after ${(f.end - f.start).toFixed(1)} s (${f.note ?? f.error})`);
}

// ---------------------------------------------------------------- the store at the end
/** Every key of db with its PTTL (ms; -1: none), read with SCAN and pipelined PTTLs. */
async function scanKeys(db) {
  const port = S.redis.port;
  const keys = [];
  let cursor = '0';
  // SCAN in a Lua script, so that selecting db and each key's PTTL take one round trip per page
  const script = "local r = redis.call('SCAN', ARGV[1], 'COUNT', 1000); local out = {r[1]}; for _, k in ipairs(r[2]) do out[#out+1] = k; out[#out+1] = redis.call('PTTL', k) end; return out";
  do {
    const reply = await respCommand(port, ['EVAL', `redis.call('SELECT', ${db}); ${script}`, '0', cursor], 10000);
    cursor = reply[0];
    for (let i = 1; i < reply.length; i += 2) keys.push({ key: reply[i], pttl: Number(reply[i + 1]) });
  } while (cursor !== '0');
  return keys;
}
function keyReport(keys) {
  const byPrefix = {};
  for (const { key, pttl } of keys) {
    const p = prefixOf(key);
    const e = (byPrefix[p] ??= { n: 0, noTtl: 0, maxPttl: 0 });
    e.n++; if (pttl < 0) e.noTtl++; else e.maxPttl = Math.max(e.maxPttl, pttl);
  }
  for (const [p, e] of Object.entries(byPrefix)) {
    e.bound = TTL[p]?.[0] ?? null;
    e.withinBound = e.bound !== null && e.maxPttl <= e.bound;
  }
  return { total: keys.length, noTtl: keys.filter((k) => k.pttl < 0).length, byPrefix,
    /** keys left t ms after the scan, if nothing new is written */
    projected: (t) => keys.filter((k) => k.pttl < 0 || k.pttl > t).length };
}

// ---------------------------------------------------------------- the run
try {
  await setUp();
  log(`up: eidhub A ${S.a.url} (pid ${S.a.pid})${S.b ? `, eIDAS node B ${S.b.url} (pid ${S.b.pid})` : ''}, redis ${S.redis.port}, `
    + `national OIDC ${S.fr.url}; mix ${JSON.stringify(MIX)}`);
  // every kind once, in turn: a broken set-up stops here
  for (const kind of Object.keys(MIX)) {
    try { await LOGINS[kind](); } catch (e) { throw new Error(`warm-up ${kind} login failed: ${e.message}`); }
  }
  // capacity: the same mix, closed loop
  if (opt.rate) {
    R.rate = num('rate');
    log(`rate ${R.rate}/s (given)`);
  } else {
    const cap = await runPool(1e9, num('vus'), num('capacity-seconds') * 1000, () => LOGINS[pickKind()]());
    R.capacity = { logins: cap.done, errors: cap.errors, secs: cap.secs, rate: cap.rate, vus: num('vus'), loadavg: os.loadavg() };
    R.rate = cap.rate / 2;
    log(`capacity: ${cap.rate.toFixed(1)} mixed logins/s (${cap.done} in ${cap.secs.toFixed(1)} s, ${cap.errors} errors, ${num('vus')} clients); soak at ${R.rate.toFixed(1)}/s`);
    if (cap.done === 0) throw new Error('no login succeeded in the capacity run');
  }
  await sleep(3000);

  // the soak: open loop at R.rate, a fault every fault-every minutes
  T0.ms = performance.now(); events.length = 0;
  const endAt = num('minutes') * 60;
  const faultEvery = num('fault-every') * 60;
  await sample('load');
  // faults at 1/2, 3/2, 5/2... of the interval: the last one's window fits in the run
  let started = 0; let nextFault = faultEvery / 2; let nextSample = num('sample-seconds'); let faultN = 0;
  const faultRuns = [];
  while (now() < endAt) {
    const due = Math.floor(now() * R.rate) - started;
    for (let i = 0; i < due; i++) {
      started++;
      if (inflight >= num('max-inflight')) { // the driver's own limit: counted as a failure of that kind
        shed++; events.push({ t0: now(), t: now(), kind: pickKind(), ok: false, ms: 0, error: `not started: ${num('max-inflight')} logins in flight` }); continue;
      }
      runOne(pickKind());
    }
    if (now() >= nextFault && nextFault < endAt - 10) { faultRuns.push(inject(faultN++)); nextFault += faultEvery; }
    if (now() >= nextSample) { nextSample += num('sample-seconds'); await sample('load'); }
    await sleep(20);
  }
  R.loadSeconds = now();
  await Promise.all(faultRuns);
  const waitUntil = performance.now() + (num('login-timeout') + 5) * 1000;
  while (inflight > 0 && performance.now() < waitUntil) await sleep(100);
  R.inflightLeft = inflight;
  await sample('load');
  log(`load stopped: ${events.length} logins, ${events.filter((e) => !e.ok).length} failed, ${shed} not started (over ${num('max-inflight')} in flight)`);

  // drain: every key must expire; the long-lived ones are the baseline
  const scan0 = keyReport(await scanKeys(0));
  const scanB0 = S.b ? keyReport(await scanKeys(1)) : null;
  const drainT0 = now();
  R.atStop = { db0: { ...scan0, projected: undefined }, db1: scanB0 && { ...scanB0, projected: undefined } };
  R.baseline = scan0.projected(FLOW_TTL_MS);
  R.baselineB = scanB0?.projected(FLOW_TTL_MS);
  log(`at stop: ${scan0.total} keys (${JSON.stringify(Object.fromEntries(Object.entries(scan0.byPrefix).map(([k, v]) => [k, v.n])))}), `
    + `${scan0.noTtl} without TTL; baseline after the longest flow TTL (${FLOW_TTL_MS / 60e3} min): ${R.baseline}`);
  while (now() - drainT0 < DRAIN_MIN * 60) {
    await sleep(num('sample-seconds') * 1000);
    const s = await sample('drain');
    s.projected = scan0.projected((now() - drainT0) * 1000);
  }
  const scan1 = keyReport(await scanKeys(0));
  const scanB1 = S.b ? keyReport(await scanKeys(1)) : null;
  R.drain = { minutes: DRAIN_MIN, seconds: now() - drainT0, end: { db0: { ...scan1, projected: undefined }, db1: scanB1 && { ...scanB1, projected: undefined } },
    projectedAtEnd: scan0.projected((now() - drainT0) * 1000), baselineReached: scan1.total === R.baseline,
    longestTtlPassed: (now() - drainT0) * 1000 >= FLOW_TTL_MS, keysWithoutTtl: scan1.noTtl + (scanB1?.noTtl ?? 0) };
  log(`drain: ${scan1.total} keys after ${(R.drain.seconds / 60).toFixed(1)} min (projected ${R.drain.projectedAtEnd}, baseline ${R.baseline}), ${R.drain.keysWithoutTtl} without TTL`);
} catch (e) {
  R.error = String(e.stack ?? e);
  log(`FAILED: ${R.error}`);
} finally {
  R.logs = Object.fromEntries([['A', S.a], ['B', S.b]].filter(([, b]) => b).map(([node, b]) => [node, logSummary(b)]));
  await stopAll();
}
R.finished = new Date().toISOString();
R.faults = faults; R.samples = samples;
R.events = summarize();
const base = path.join(opt.out, `soak-${R.started.slice(0, 16).replace(':', '')}`);
fs.mkdirSync(opt.out, { recursive: true });
fs.writeFileSync(`${base}.json`, JSON.stringify(R, null, 1));
const { md, dat, faultDat } = report(R, path.basename(base));
fs.writeFileSync(`${base}.md`, md);
fs.writeFileSync(`${base}.dat`, dat);
fs.writeFileSync(`${base}.faults.dat`, faultDat);
process.stdout.write(`${base}\n`);
process.exit(R.error ? 1 : 0);

/**
 * nginx's error log of a node: workers that died (and nginx's alerts), and
 * eidhub's own warnings and errors counted by message (JSON lines; numbers
 * and ids folded so that alike messages count together).
 */
function logSummary(b) {
  let text = '';
  try { text = b.errorLog(); } catch { return { error: 'no error log' }; }
  const crashes = text.split('\n').filter((l) => /exited on signal|\[(alert|crit|emerg)\]/.test(l)).slice(0, 20);
  const messages = {};
  for (const line of text.split('\n')) {
    let m = null;
    try { m = line.startsWith('{') ? JSON.parse(line) : null; } catch { /* not JSON */ }
    const key = m ? `${m.level}: ${m.msg}` : (line.match(/\[(warn|error)\].*?: (.*)$/)?.slice(1).join(': ') ?? null);
    if (!key) continue;
    const k = key.replace(/[A-Za-z0-9_-]{16,}/g, '…').replace(/\d+/g, 'N').slice(0, 140);
    messages[k] = (messages[k] ?? 0) + 1;
  }
  return { bytes: text.length, crashes, messages };
}

/** Logins and errors in each fault window and outside them, by method and by error kind. */
function summarize() {
  // a login belongs to the fault window it was in flight during (the last one, when windows overlap)
  const inWindow = (e) => faults.findLastIndex((f) => e.t >= f.start && e.t0 <= f.windowEnd);
  const bucket = () => ({ ok: 0, failed: 0, byKind: {}, errors: {} });
  const add = (b, e) => {
    const k = (b.byKind[e.kind] ??= { ok: 0, failed: 0 });
    if (e.ok) { b.ok++; k.ok++; } else { b.failed++; k.failed++; b.errors[e.error] = (b.errors[e.error] ?? 0) + 1; }
  };
  const windows = faults.map((f) => ({ kind: f.kind, start: f.start, end: f.end, windowEnd: f.windowEnd, note: f.note, error: f.error, ...bucket() }));
  const outside = bucket(); const all = bucket();
  for (const e of events) {
    add(all, e);
    const i = inWindow(e);
    add(i >= 0 ? windows[i] : outside, e);
  }
  const lat = (kind) => { const v = events.filter((e) => e.ok && (kind ? e.kind === kind : e.kind !== 'abandoned')).map((e) => e.ms); return { p50: pct(v, 50), p99: pct(v, 99), n: v.length }; };
  return { windows, outside, all, latency: Object.fromEntries([['all', lat()], ...Object.keys(MIX).map((k) => [k, lat(k)])]), shed };
}
