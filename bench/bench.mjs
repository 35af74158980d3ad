// eidhub benchmarks (issue 7): the full brokered OIDC login under load, its
// baselines (static nginx, openssl speed), the token endpoint against
// oidc-provider, 10,000 waiting Mobile-ID citizens, Redis vs the embedded
// store, worker memory, and eIDAS response processing against pysaml2 and
// the crypto limit. Run through bench/run; see bench/README.md.
// Everything listens on 127.0.0.1 and every process started is stopped by pid.
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Browser, cpuDelta, cpuOf, expect, FORM, b64u, form, machineBusy, pct, redisCli, redisInfo, request, runPool, setLog, timing, workerRssKiB } from './driver.mjs';
import { BUILD, freePort, mobileIdSettings, startBroker, startMobileIdSim, startRedis, tmpdir, waitForPort } from '../tests/lib/harness.mjs';

const { values: opt } = parseArgs({ options: {
  logins: { type: 'string', default: process.env.BENCH_LOGINS ?? '20000' },      // memory run (Redis)
  'store-logins': { type: 'string', default: process.env.BENCH_STORE_LOGINS ?? '5000' }, // each store in the comparison
  vus: { type: 'string', default: process.env.BENCH_VUS ?? '32' },
  pending: { type: 'string', default: process.env.BENCH_PENDING ?? '10000' },
  'token-codes': { type: 'string', default: process.env.BENCH_TOKEN_CODES ?? '2000' },
  'phase-seconds': { type: 'string', default: process.env.BENCH_PHASE_SECONDS ?? '150' },
  'saml-seconds': { type: 'string', default: process.env.BENCH_SAML_SECONDS ?? '10' },     // each eIDAS response loop
  'saml-responses': { type: 'string', default: process.env.BENCH_SAML_RESPONSES ?? '64' }, // distinct responses
  out: { type: 'string', default: path.join(import.meta.dirname, 'results') },
  only: { type: 'string', default: process.env.BENCH_ONLY ?? '' }, // "saml": the eIDAS response part alone
} });
const N = Object.fromEntries(Object.entries(opt).filter(([k]) => k !== 'out' && k !== 'only').map(([k, v]) => [k, Number(v)]));
const PHASE_MS = N['phase-seconds'] * 1000;
const WATCHDOG = setTimeout(() => { console.error('bench: overall time limit (20 min) reached'); process.exit(2); }, 20 * 60 * 1000);
WATCHDOG.unref();
const log = (m) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${m}\n`);
setLog(log);

// ---------------------------------------------------------------- the login
const CLIENT = { id: 'bench-portal', secret: 'bench-secret-' + crypto.randomBytes(12).toString('hex'), cb: 'http://127.0.0.1:9/callback' };
const CITIZENS = [ // the simulator's citizens who log in (tests/sim/mobile-id.mjs)
  { phone: '+37200000766', code: '60001019906' }, { phone: '+37269000766', code: '38001085718' }, { phone: '+37269930366', code: '51307149560' },
];
let citizenTurn = 0;

/** The citizen's browser and the relying party, up to the callback with the code. */
async function loginToCode(b, { pendingOnly = false } = {}) {
  const verifier = b64u(crypto.randomBytes(32));
  const challenge = b64u(crypto.createHash('sha256').update(verifier).digest());
  const state = b64u(crypto.randomBytes(16)); const nonce = b64u(crypto.randomBytes(16));
  const q = form({ response_type: 'code', client_id: CLIENT.id, redirect_uri: CLIENT.cb, scope: 'openid profile',
    state, nonce, code_challenge: challenge, code_challenge_method: 'S256' });
  expect(await b.req('GET', `/authorize?${q}`), 303, 'authorize');
  expect(await b.req('GET', '/login'), 200, 'login page');
  const page = expect(await b.req('GET', '/auth/mid'), 200, 'mid form');
  const csrf = page.text.match(/name="csrf" value="([^"]*)"/)?.[1];
  const c = CITIZENS[citizenTurn++ % CITIZENS.length];
  expect(await b.req('POST', '/auth/mid', { headers: FORM, body: form({ csrf, phone: c.phone, personal_code: c.code }) }), 303, 'mid start');
  if (pendingOnly) return null;
  expect(await b.req('GET', '/auth/mid/wait'), 200, 'mid wait');
  for (let i = 0; i < 50; i++) {
    const s = expect(await b.req('GET', '/auth/mid/status'), 200, 'mid status');
    if (JSON.parse(s.text).state !== 'RUNNING') break;
  }
  const fin = expect(await b.req('GET', '/auth/mid/finish'), 303, 'mid finish');
  const back = new URL(fin.headers.location, 'http://x');
  if (back.searchParams.get('state') !== state || !back.searchParams.get('code')) throw new Error(`bad callback ${fin.headers.location}`);
  return { code: back.searchParams.get('code'), verifier, nonce };
}
const basic = (id, secret) => 'Basic ' + Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64');

async function exchange(agent, port, { code, verifier, nonce }, client = CLIENT) {
  const r = await request(agent, port, 'POST', '/token', { headers: { ...FORM, authorization: basic(client.id, client.secret) },
    body: form({ grant_type: 'authorization_code', code, redirect_uri: client.cb, code_verifier: verifier }) });
  expect(r, 200, 'token');
  const t = JSON.parse(r.text);
  if (nonce) { // the RP's checks short of the signature (ES256 verify is client-side work, left out)
    const claims = JSON.parse(Buffer.from(t.id_token.split('.')[1], 'base64url'));
    if (claims.nonce !== nonce || claims.aud !== client.id) throw new Error('id_token claims');
  }
  return { token: t, ms: r.ms };
}

async function fullLogin(agent, port) {
  const b = new Browser(agent, port);
  const t0 = performance.now();
  const got = await loginToCode(b);
  const { token, ms } = await exchange(agent, port, got);
  if (timing.steps) (timing.steps['POST /token'] ??= []).push(ms);
  b.requests++;
  const ui = await request(agent, port, 'GET', '/userinfo', { headers: { authorization: `Bearer ${token.access_token}` } });
  b.requests++;
  expect(ui, 200, 'userinfo');
  return { ms: performance.now() - t0, requests: b.requests };
}

/** The same login (fullLogin's requests and checks) driven by bench/login-driver (bench/login_driver.c,
 * libcurl, one thread): count logins with the run's clients, bounded by the phase time. On 2 CPUs the
 * driver's own CPU is taken from the broker's; this one spends under half the Node driver's. Its
 * result has runPool's keys, plus steps (p50/p99 of each request kind) and cpuSeconds (its own CPU). */
function cLogins(port, count, { warmup = 0 } = {}) {
  return loginDriver(['--url', `http://127.0.0.1:${port}`, '--client-id', CLIENT.id, '--client-secret', CLIENT.secret,
    '--redirect-uri', CLIENT.cb, '--logins', String(count), '--vus', String(N.vus), '--seconds', String(N['phase-seconds']),
    '--warmup', String(warmup), '--citizens', CITIZENS.map((c) => `${c.phone}:${c.code}`).join(',')]);
}
/** The token step of the login alone (bench/login-driver --exchange, the same driver for both token
 * endpoints): each of codes ({code, verifier, nonce}, issued to client) exchanged once at port's /token,
 * the ID token's nonce and aud checked, bounded by secs. Result: as cLogins', done = exchanges. */
function cExchanges(port, codes, client, secs) {
  const dir = tmpdir('eidhub-codes-'); const file = path.join(dir, 'codes.json');
  fs.writeFileSync(file, JSON.stringify(codes));
  return loginDriver(['--exchange', file, '--url', `http://127.0.0.1:${port}`, '--client-id', client.id,
    '--client-secret', client.secret, '--redirect-uri', client.cb, '--vus', String(N.vus), '--seconds', String(secs)])
    .finally(() => fs.rmSync(dir, { recursive: true, force: true }));
}
/** Runs bench/login-driver with args; its JSON result (also when some logins or exchanges failed). */
function loginDriver(args) {
  return new Promise((resolve, reject) => {
    const child = spawn(path.join(BUILD, 'bench/login-driver'), args, { stdio: ['ignore', 'pipe', 'pipe'] });
    cleanup.push(() => child.kill('SIGTERM')); // on SIGINT; a no-op once it has exited
    let out = ''; let err = '';
    child.stdout.on('data', (c) => { out += c; });
    child.stderr.on('data', (c) => { err += c; });
    child.on('error', reject);
    child.on('close', (status) => { // 0: all succeeded; 1 with a result: some failed (counted)
      if (err) log(err.trim());
      try { if (status === 0 || status === 1) return resolve(JSON.parse(out)); } catch { /* no result */ }
      reject(new Error(`bench/login-driver failed (status ${status}): ${err.slice(-300)}`));
    });
  });
}

// ---------------------------------------------------------------- machine facts (the rest: driver.mjs)
function opensslEs256() {
  const one = spawnSync('openssl', ['speed', '-seconds', '3', 'ecdsap256'], { encoding: 'utf8' });
  const all = spawnSync('openssl', ['speed', '-multi', String(os.cpus().length), '-seconds', '3', 'ecdsap256'], { encoding: 'utf8' });
  const parse = (out) => { const m = out.match(/nistp256\)\s+[\d.]+s\s+[\d.]+s\s+([\d.]+)\s+([\d.]+)/); return m ? Number(m[1]) : NaN; };
  return { one: parse(one.stdout), all: parse(all.stdout) };
}
function wrk(url, conns, secs) {
  const r = spawnSync('wrk', ['-t', '2', '-c', String(conns), '-d', `${secs}s`, '--latency', url], { encoding: 'utf8', timeout: (secs + 30) * 1000 });
  const rps = Number(r.stdout.match(/Requests\/sec:\s+([\d.]+)/)?.[1]);
  if (!rps) throw new Error(`wrk failed: ${r.stdout}${r.stderr}`);
  return { rps, requests: Number(r.stdout.match(/(\d+) requests in/)?.[1]) };
}
/** (d) eidhub's cryptography of one Mobile-ID login, in-process through libeidhub (bench/login-crypto:
 * eh_sk_verify, the OCSP query and answer check, the ES256 ID token): µs of CPU per login. */
function loginCrypto() {
  // --mix: CITIZENS in turn, by their keys at the simulator (tests/sim/mobile-id.mjs): RSA-2048, EC P-256, RSA-2048
  const r = spawnSync(path.join(BUILD, 'bench/login-crypto'), ['--seconds', '2', '--mix', 'rsa,ec,rsa'], { encoding: 'utf8', timeout: 120000 });
  if (r.status !== 0) return { error: `bench/login-crypto failed (status ${r.status ?? r.signal}): ${(r.stderr || r.error?.message || '').slice(-300)}` };
  try { return { ...JSON.parse(r.stdout), cpus: os.cpus().length }; } catch (e) { return { error: `bench/login-crypto: ${e.message}` }; }
}


// ---------------------------------------------------------------- set-up
const RATE = { per_person: 1000, per_phone: 1000, per_client_address: 100000, window_seconds: 1 }; // the maxima the configuration accepts, per second
async function broker({ store, sim, staticPort }) {
  const extraHttp = staticPort ? `server { listen 127.0.0.1:${staticPort}; access_log off; location / { default_type text/plain; return 200 "ok\\n"; } }` : '';
  const b = await startBroker({
    store, workers: 2, timeoutMs: 2000, extraHttp,
    broker: {
      relying_parties: [{ client_id: CLIENT.id, client_secret_sha256: crypto.createHash('sha256').update(CLIENT.secret).digest('hex'),
        redirect_uris: [CLIENT.cb], display_name: 'Bench portal', policy: 'basic', subject_type: 'pairwise' }],
      backends: { mobile_id: mobileIdSettings(sim, { rate_limit: RATE }) },
    },
  });
  // the load is the measurement: no access log writes in eidhub's server either
  return b;
}

// ---------------------------------------------------------------- eIDAS responses
/** eIDAS response processing: eidhub's Connector code (bench/saml-bench: the
 * library's eh_saml_response_consume, and the crypto limit with OpenSSL EVP)
 * and pysaml2 (bench/pysaml2-consume.py) over the same signed, encrypted
 * responses. Its own try: a failure here leaves the other parts running. */
function samlPart() {
  const dir = tmpdir('eidhub-saml-bench-');
  try {
    const fixtures = path.join(import.meta.dirname, '../tests/fixtures/saml');
    const secs = N['saml-seconds'];
    const busy0 = machineBusy(); const t0 = performance.now();
    const run = (cmd, args, what) => {
      const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: (secs * 4 + 120) * 1000, maxBuffer: 1 << 20 });
      if (r.status !== 0) throw new Error(`${what} failed (status ${r.status ?? r.signal}): ${(r.stderr ?? '').slice(-500)}`);
      return JSON.parse(r.stdout);
    };
    const eidhub = run(path.join(BUILD, 'bench/saml-bench'), ['--fixtures', fixtures, '--n', String(N['saml-responses']),
      '--seconds', String(secs), '--procs', '2', '--crypto-seconds', '3', '--write', dir], 'bench/saml-bench');
    const peer = run('/usr/bin/python3', [path.join(import.meta.dirname, 'pysaml2-consume.py'), '--dir', dir, '--fixtures', fixtures,
      '--seconds', String(secs)], 'bench/pysaml2-consume.py');
    const one = eidhub.runs.find((r) => r.procs === 1);
    log(`eIDAS responses: eidhub ${one.rate.toFixed(1)}/s (${one.ratePerCpu.toFixed(1)} per CPU-s), ` +
      `crypto limit ${eidhub.crypto.limit.toFixed(1)} per CPU-s, pysaml2 ${peer.rate.toFixed(1)}/s (${peer.ratePerCpu.toFixed(1)} per CPU-s)`);
    // how busy the machine was meanwhile (this part uses one core, two in the 2-process run)
    return { eidhub, peer, machineCores: (machineBusy() - busy0) / ((performance.now() - t0) / 1000), loadavg: os.loadavg() };
  } catch (e) {
    log(`eIDAS response part FAILED: ${e.message}`);
    return { error: String(e.message ?? e) };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const R = { peerVersion: JSON.parse(fs.readFileSync(path.join(import.meta.dirname, '../tests/node_modules/oidc-provider/package.json'), 'utf8')).version, started: new Date().toISOString(), params: N, machine: `${os.cpus().length} × ${os.cpus()[0].model}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.release()}` };
const cleanup = [];
async function stopAll() { for (const f of cleanup.reverse()) { try { await f(); } catch { /* */ } } }
process.on('SIGINT', async () => { await stopAll(); process.exit(130); });

// first, while nothing else of the benchmark runs: it is CPU-bound
R.saml = samlPart();
if (opt.only === 'saml') finish(R.saml.error ? 1 : 0);

try {
  const redis = await startRedis(); cleanup.push(() => redis.stop());
  const fast = await startMobileIdSim({ delayMs: 0 }); cleanup.push(() => fast.stop());
  const staticPort = await freePort();
  const bR = await broker({ store: redis.url, sim: fast, staticPort }); cleanup.push(() => bR.stop());
  const vus = N.vus;

  // warm-up, and the number of requests one login takes
  const warm = await runPool(200, vus, 30000, (a) => fullLogin(a, bR.port));
  if (warm.done === 0) throw new Error('no login succeeded in the warm-up');
  R.requestsPerLogin = warm.results.reduce((s, r) => s + r.requests, 0) / warm.done;
  log(`warm-up: ${warm.done} logins, ${R.requestsPerLogin.toFixed(2)} HTTP requests per login`);

  // baselines: static nginx (wrk, and this Node driver's own ceiling), openssl speed
  const nginxCpu0 = cpuOf({ nginx: bR.pid }).nginx;
  const w = wrk(`http://127.0.0.1:${staticPort}/`, vus, 5);
  R.staticRps = w.rps;
  R.staticCpu = { secs: cpuOf({ nginx: bR.pid }).nginx - nginxCpu0, requests: w.requests }; // nginx (master + workers) during wrk
  const drv = await runPool(40000, vus, 10000, (a) => request(a, staticPort, 'GET', '/'));
  R.driverRps = drv.rate;
  log(`static: wrk ${R.staticRps.toFixed(0)} req/s, Node driver ${R.driverRps.toFixed(0)} req/s`);
  R.es256 = opensslEs256();
  R.es256PerLogin = 1; // the ID token's ES256 signature (access tokens and codes are random strings)
  R.loginCrypto = loginCrypto();
  log(R.loginCrypto.error ?? `eidhub's login cryptography: ${R.loginCrypto.mix.perLoginUs.toFixed(0)} µs CPU per login (${JSON.stringify(R.loginCrypto.citizens)})`);
  log(`openssl ES256 sign/s: ${R.es256.one} (1 process), ${R.es256.all} (-multi ${os.cpus().length})`);

  // the full login with Redis, and memory over many logins
  R.rssBefore = workerRssKiB(bR.pid);
  const pids = { 'nginx+eidhub': bR.pid, redis: redis.pid, 'Mobile-ID simulator': fast.pid, 'bench.mjs (Node, waiting for the driver)': process.pid };
  const cpu0 = cpuOf(pids); const busy0 = machineBusy();
  R.redisLogin = await cLogins(bR.port, N.logins);
  R.cpu = cpuDelta(cpu0, cpuOf(pids), R.redisLogin.secs); // CPUs busy on average during the run
  R.cpu['load driver (C)'] = R.redisLogin.cpuSeconds / R.redisLogin.secs; // by itself (getrusage): it has exited
  R.cpu['whole machine (all processes)'] = (machineBusy() - busy0) / R.redisLogin.secs;
  R.cpu['other processes (not this benchmark)'] = R.cpu['whole machine (all processes)'] - Object.entries(R.cpu).filter(([k]) => !k.includes('machine')).reduce((s, [, v]) => s + v, 0);
  R.loadavg = os.loadavg();
  R.steps = R.redisLogin.steps;
  log(`steps: ${JSON.stringify(R.steps)}`);
  log(`CPU (cores busy): ${JSON.stringify(R.cpu)}`);
  R.rssAfter = workerRssKiB(bR.pid);
  log(`Redis: ${R.redisLogin.done} logins ${R.redisLogin.rate.toFixed(1)}/s p50 ${R.redisLogin.p50.toFixed(1)} p99 ${R.redisLogin.p99.toFixed(1)} ms; RSS ${R.rssBefore} -> ${R.rssAfter} KiB`);
  R.redisStore = await cLogins(bR.port, N['store-logins']);

  // the token endpoint: codes from real logins (a code lives 30 s), then only the exchanges,
  // at eidhub and at oidc-provider by the same C driver (bench/login-driver --exchange)
  const codesR = await runPool(N['token-codes'], vus, 15000, (a) => loginToCode(new Browser(a, bR.port)));
  const codes = codesR.results.filter(Boolean);
  R.eidhubToken = await cExchanges(bR.port, codes, CLIENT, 30);
  const peerPort = await freePort(); const peerDir = tmpdir('eidhub-peer-'); const peerOut = path.join(peerDir, 'codes.json');
  const peer = spawn(process.execPath, [path.join(import.meta.dirname, 'oidc-peer.mjs'), '--port', String(peerPort), '--codes', String(codes.length), '--out', peerOut], { stdio: ['ignore', 'ignore', 'inherit'] });
  cleanup.push(async () => { peer.kill('SIGTERM'); fs.rmSync(peerDir, { recursive: true, force: true }); });
  await waitForPort(peerPort, peer, 'oidc-provider peer', 60000);
  while (!fs.existsSync(peerOut)) await new Promise((r) => setTimeout(r, 50));
  const pc = JSON.parse(fs.readFileSync(peerOut, 'utf8'));
  const peerClient = { id: pc.client_id, secret: pc.client_secret, cb: pc.redirect_uri };
  R.peerToken = await cExchanges(peerPort, pc.codes, peerClient, 30);
  peer.kill('SIGTERM');
  const driverUs = (t) => ((t.cpuSeconds * 1e6) / t.done).toFixed(0);
  log(`token endpoint: eidhub ${R.eidhubToken.rate.toFixed(0)}/s (${codes.length} codes), oidc-provider ${R.peerToken.rate.toFixed(0)}/s; ` +
    `driver CPU ${driverUs(R.eidhubToken)} and ${driverUs(R.peerToken)} µs per exchange`);

  // the embedded store: same login run
  const bS = await broker({ store: undefined, sim: fast }); cleanup.push(() => bS.stop());
  await runPool(200, vus, 30000, (a) => fullLogin(a, bS.port));
  R.shmStore = await cLogins(bS.port, N['store-logins']);
  log(`shm: ${R.shmStore.rate.toFixed(1)}/s vs Redis ${R.redisStore.rate.toFixed(1)}/s`);
  await bS.stop();

  // waiting citizens: a simulator whose phones never answer within the run
  const slow = await startMobileIdSim({ delayMs: 600000 }); cleanup.push(() => slow.stop());
  // a Redis of their own: keys of the earlier runs expiring meanwhile would blur used_memory
  const redisP = await startRedis(); cleanup.push(() => redisP.stop());
  const db = 0;
  const bP = await broker({ store: redisP.url, sim: slow }); cleanup.push(() => bP.stop());
  const other = async (a) => { // requests other than the waiting ones: a new visitor's first pages, discovery, JWKS
    const b = new Browser(a, bP.port);
    const q = form({ response_type: 'code', client_id: CLIENT.id, redirect_uri: CLIENT.cb, scope: 'openid', state: 's', nonce: 'n',
      code_challenge: b64u(crypto.randomBytes(32)), code_challenge_method: 'S256' });
    expect(await b.req('GET', `/authorize?${q}`), 303, 'authorize');
    expect(await b.req('GET', '/login'), 200, 'login');
    expect(await b.req('GET', '/.well-known/openid-configuration'), 200, 'discovery');
    expect(await b.req('GET', '/jwks'), 200, 'jwks');
    return { times: b.times };
  };
  const otherP99 = (res) => pct(res.results.flatMap((r) => r.times), 99);
  await runPool(640, 64, 20000, other); // as many clients as the waiting run: every pool thread has its store connection
  const quiet = await runPool(3000, 8, 30000, other);
  R.otherQuiet = { p99: otherP99(quiet), rate: quiet.rate * 4 };
  const mem0 = redisInfo(redisP.port, db); const rss0 = workerRssKiB(bP.pid);
  const pend = await runPool(N.pending, 64, PHASE_MS, (a) => loginToCode(new Browser(a, bP.port), { pendingOnly: true }));
  const mem1 = redisInfo(redisP.port, db); const rss1 = workerRssKiB(bP.pid);
  const busy = await runPool(3000, 8, 30000, other);
  R.otherBusy = { p99: otherP99(busy), rate: busy.rate * 4 };
  R.pending = { n: pend.done, errors: pend.errors, secs: pend.secs, bytesEach: (mem1.used - mem0.used) / pend.done,
    keysEach: (mem1.keys - mem0.keys) / pend.done, rssBefore: rss0, rssAfter: rss1 };
  const sample = redisCli(redisP.port, '-n', String(db), '--scan', '--pattern', 'txn:*').split('\n').filter(Boolean).slice(0, 200);
  R.pending.keyKinds = [...new Set(sample.map((k) => k.replace(/[:][^:]*$/, ':*')))].slice(0, 8);
  R.pending.memoryUsageSample = sample.slice(0, 50).reduce((s, k) => s + Number(redisCli(redisP.port, '-n', String(db), 'MEMORY', 'USAGE', k).trim() || 0), 0) / Math.min(50, sample.length);
  log(`pending: ${pend.done} in ${pend.secs.toFixed(1)} s, ${R.pending.bytesEach.toFixed(0)} B and ${R.pending.keysEach.toFixed(2)} keys each; other p99 ${R.otherQuiet.p99.toFixed(2)} -> ${R.otherBusy.p99.toFixed(2)} ms`);
} catch (e) {
  R.error = String(e.stack ?? e);
  log(`FAILED: ${R.error}`);
} finally {
  await stopAll();
}
finish(R.error ? 1 : 0);

function finish(status) {
  R.finished = new Date().toISOString();
  fs.mkdirSync(opt.out, { recursive: true });
  fs.writeFileSync(path.join(opt.out, 'latest.json'), JSON.stringify(R, (k, v) => (k === 'results' ? undefined : v), 2));
  process.exit(status);
}
