// The full brokered login of bench/bench.mjs (same requests, same broker
// configuration: Redis, 2 workers, 32 clients, the Mobile-ID simulator
// answering at once) in steps, for profiling: after each step the rate, the
// CPU each process spent per login (children included: the simulator's
// openssl runs counted), worker RSS and anonymous memory, Redis commands per
// login, Redis round trips per login (the server's read events,
// INFO stats total_reads_processed: a pipelined batch is one) and each
// request's p50. See bench/results/profile-2026-11-23.md.
//
//   EH_BUILD=/tmp/build node bench/login-steps.mjs --steps 4000,4000,4000
//     --citizens rsa        only the two RSA citizens (default: all three logging-in ones)
//     --env K=V,K2=V2       environment for nginx (e.g. MALLOC_ARENA_MAX=2)
//     --malloc-info DIR     after each step, glibc's malloc_info of each worker into DIR (gdb; DIR writable by nginx's user)
//     --monitor FILE        Redis MONITOR of one login into FILE before the steps
//     --wrap CMD            start nginx under CMD (e.g. a valgrind script); 1 worker recommended
//     --hold SECONDS        keep everything running after the steps (perf, heaptrack -p)
//     --threads N           eidhub's requests in a thread pool of N threads (default: nginx's default pool, 32)
//     --settle SECONDS|trim idle this long before each memory sample; trim: until every worker has
//                           trimmed its heaps once more (eidhub_heap_trims_total in /metrics, at most 30 s)
//     --smaps               after each step, each worker's anonymous memory by kind (main heap, thread stacks, arenas, other)
//     --store shm           the embedded store (shm://?size=64m) instead of Redis (no Redis lines then)
// Process ids go to stderr at the start. Everything listens on 127.0.0.1.
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  freePort, keygen, mobileIdSettings, nginxConf, startBroker, startMobileIdSim, startRedis, tmpdir, waitForPort,
} from '../tests/lib/harness.mjs';

const { values: opt } = parseArgs({ options: {
  steps: { type: 'string', default: '4000,4000,4000' }, vus: { type: 'string', default: '32' },
  workers: { type: 'string', default: '2' }, citizens: { type: 'string', default: 'all' },
  env: { type: 'string', default: '' }, 'malloc-info': { type: 'string', default: '' },
  monitor: { type: 'string', default: '' }, wrap: { type: 'string', default: '' }, hold: { type: 'string', default: '0' },
  store: { type: 'string', default: 'redis' }, threads: { type: 'string', default: '' }, smaps: { type: 'boolean', default: false },
  settle: { type: 'string', default: '0' },
} });
if (!['redis', 'shm'].includes(opt.store)) throw new Error('--store redis or shm');
const log = (m) => process.stderr.write(`[login-steps ${new Date().toISOString().slice(11, 19)}] ${m}\n`);

function request(agent, port, method, pathname, { headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const h = { ...headers };
    if (body !== undefined) h['content-length'] = Buffer.byteLength(body);
    const r = http.request({ host: '127.0.0.1', port, method, path: pathname, agent, headers: h }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, text: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    r.setTimeout(30000, () => r.destroy(new Error(`timeout ${method} ${pathname}`)));
    r.on('error', reject);
    r.end(body);
  });
}
const newAgent = () => new http.Agent({ keepAlive: true, maxSockets: 1 });
const b64u = (b) => Buffer.from(b).toString('base64url');
const form = (o) => new URLSearchParams(o).toString();
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
let STEPS = {};

class Browser {
  constructor(agent, port) { this.agent = agent; this.port = port; this.cookies = new Map(); }
  async req(method, p, opts = {}) {
    const headers = { ...(opts.headers ?? {}) };
    if (this.cookies.size) headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const t0 = performance.now();
    const r = await request(this.agent, this.port, method, p, { ...opts, headers });
    (STEPS[`${method} ${p.split('?')[0]}`] ??= []).push(performance.now() - t0);
    for (const line of r.headers['set-cookie'] ?? []) {
      const [pair] = line.split(';'); const i = pair.indexOf('=');
      const k = pair.slice(0, i).trim(); const v = pair.slice(i + 1).trim();
      if (v === '' || /max-age=0/i.test(line)) this.cookies.delete(k); else this.cookies.set(k, v);
    }
    return r;
  }
}
const expect = (r, s, w) => { if (r.status !== s) throw new Error(`${w}: HTTP ${r.status} ${r.text.slice(0, 200)}`); return r; };
const CLIENT = { id: 'bench-portal', secret: 'bench-secret-' + crypto.randomBytes(12).toString('hex'), cb: 'http://127.0.0.1:9/callback' };
const CITIZENS = [{ phone: '+37200000766', code: '60001019906' }, { phone: '+37269000766', code: '38001085718' }, // RSA, EC
  { phone: '+37269930366', code: '51307149560' }]; // RSA
if (opt.citizens === 'rsa') CITIZENS.splice(1, 1);
let turn = 0;

async function fullLogin(agent, port) {
  const b = new Browser(agent, port);
  const verifier = b64u(crypto.randomBytes(32));
  const challenge = b64u(crypto.createHash('sha256').update(verifier).digest());
  const state = b64u(crypto.randomBytes(16)); const nonce = b64u(crypto.randomBytes(16));
  const q = form({ response_type: 'code', client_id: CLIENT.id, redirect_uri: CLIENT.cb, scope: 'openid profile', state, nonce,
    code_challenge: challenge, code_challenge_method: 'S256' });
  expect(await b.req('GET', `/authorize?${q}`), 303, 'authorize');
  expect(await b.req('GET', '/login'), 200, 'login');
  const page = expect(await b.req('GET', '/auth/mid'), 200, 'mid form');
  const csrf = page.text.match(/name="csrf" value="([^"]*)"/)?.[1];
  const c = CITIZENS[turn++ % CITIZENS.length];
  expect(await b.req('POST', '/auth/mid', { headers: FORM, body: form({ csrf, phone: c.phone, personal_code: c.code }) }), 303, 'mid start');
  expect(await b.req('GET', '/auth/mid/wait'), 200, 'wait');
  for (let i = 0; i < 50; i++) {
    const s = expect(await b.req('GET', '/auth/mid/status'), 200, 'status');
    if (JSON.parse(s.text).state !== 'RUNNING') break;
  }
  const fin = expect(await b.req('GET', '/auth/mid/finish'), 303, 'finish');
  const back = new URL(fin.headers.location, 'http://x');
  if (back.searchParams.get('state') !== state) throw new Error('bad callback');
  const basic = 'Basic ' + Buffer.from(`${CLIENT.id}:${CLIENT.secret}`).toString('base64');
  const r = expect(await b.req('POST', '/token', { headers: { ...FORM, authorization: basic },
    body: form({ grant_type: 'authorization_code', code: back.searchParams.get('code'), redirect_uri: CLIENT.cb, code_verifier: verifier }) }), 200, 'token');
  const t = JSON.parse(r.text);
  expect(await b.req('GET', '/userinfo', { headers: { authorization: `Bearer ${t.access_token}` } }), 200, 'userinfo');
}

async function runPool(count, vus) {
  const agents = Array.from({ length: vus }, newAgent);
  let next = 0; let done = 0; let errors = 0; let first = null;
  const t0 = performance.now();
  await Promise.all(agents.map(async (a) => {
    while (next < count) {
      next++;
      try { await fullLogin(a, broker.port); done++; } catch (e) { errors++; first ??= e; }
    }
  }));
  agents.forEach((a) => a.destroy());
  if (first) log(`${errors} errors, first: ${first.message}`);
  return { done, errors, secs: (performance.now() - t0) / 1000 };
}

const workersOf = (master) => spawnSync('ps', ['--ppid', String(master), '-o', 'pid=,args='], { encoding: 'utf8' }).stdout
  .split('\n').filter((l) => /worker process|nginx/.test(l)).map((l) => Number(l.trim().split(/\s+/)[0]));
function mem(pid) {
  const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const sm = fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  return { rss: Number(s.match(/VmRSS:\s+(\d+)/)[1]), anon: Number(sm.match(/Anonymous:\s+(\d+)/)[1]) };
}
/**
 * Where a process's anonymous memory is, in KiB, from /proc/PID/smaps: the
 * main heap ([heap]), thread stacks (read-write mappings of exactly the
 * stack size: 8 MiB with Debian's default ulimit), the other malloc arenas'
 * heaps (glibc starts each at a 64 MiB boundary) and the rest (large
 * allocations malloc maps by themselves, libraries' data, shared zones).
 */
function anonParts(pid) {
  const parts = { heap: 0, stacks: 0, arenas: 0, other: 0 };
  let kind = 'other';
  for (const l of fs.readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const m = l.match(/^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \d+\s*(.*)$/);
    if (m) {
      const start = BigInt(`0x${m[1]}`); const kib = Number((BigInt(`0x${m[2]}`) - start) / 1024n);
      if (m[4] === '[heap]') kind = 'heap';
      else if (m[4] === '' && m[3] === 'rw-p' && kib === 8192) kind = 'stacks';
      else if (m[4] === '' && m[3] === 'rw-p' && start % (64n << 20n) === 0n) kind = 'arenas';
      else kind = 'other';
    } else if (l.startsWith('Anonymous:')) parts[kind] += Number(l.split(/\s+/)[1]);
  }
  return parts;
}
/** CPU seconds of pid and its waited-for children (utime, stime, cutime, cstime). */
const cpu = (pid) => {
  try {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / 100;
  } catch { return 0; }
};
function redisStats(port) {
  const t = spawnSync('redis-cli', ['-p', String(port), 'INFO', 'commandstats'], { encoding: 'utf8' }).stdout;
  return Object.fromEntries([...t.matchAll(/cmdstat_(\w+):calls=(\d+)/g)].map((m) => [m[1], Number(m[2])]));
}
/** The server's read events so far (Redis >= 6): one per request a client sent, a pipeline's commands together. */
function redisReads(port) {
  const t = spawnSync('redis-cli', ['-p', String(port), 'INFO', 'stats'], { encoding: 'utf8' }).stdout;
  return Number(t.match(/total_reads_processed:(\d+)/)?.[1] ?? NaN);
}

/** nginx under opt.wrap, started the way the harness does (which allows it 10 s only). */
async function startWrapped({ broker: cfgIn, store, workers, timeoutMs }) {
  const dir = tmpdir('eidhub-steps-'); const port = await freePort();
  fs.chmodSync(dir, 0o755);
  fs.writeFileSync(path.join(dir, 'subject.secret'), crypto.randomBytes(32).toString('base64url'), { mode: 0o600 });
  const cfg = { issuer: `http://127.0.0.1:${port}`, ...cfgIn, keys: [{ file: keygen(dir), active: true }], subject_secret_file: 'subject.secret' };
  fs.writeFileSync(path.join(dir, 'broker.json'), JSON.stringify(cfg));
  fs.writeFileSync(path.join(dir, 'nginx.conf'), nginxConf({ dir, port, store, workers, timeoutMs }));
  const proc = spawn(opt.wrap, ['/usr/sbin/nginx', '-p', dir, '-c', path.join(dir, 'nginx.conf')], { stdio: 'inherit' });
  await waitForPort(port, proc, 'nginx', 180000);
  return { dir, port, pid: proc.pid, async stop() { proc.kill('SIGQUIT'); await new Promise((r) => proc.once('exit', r)); } };
}

const redis = opt.store === 'redis' ? await startRedis() : null;
const sim = await startMobileIdSim({ delayMs: 0 });
const env = opt.env ? Object.fromEntries(opt.env.split(',').map((kv) => kv.split('='))) : {};
const broker = await (opt.wrap ? startWrapped : startBroker)({
  store: redis ? redis.url : 'shm://?size=64m', workers: Number(opt.workers), timeoutMs: 2000, env,
  ...(opt.threads ? { extraMain: `thread_pool eh_bench threads=${Number(opt.threads)};`, extraHttp: 'eidhub_thread_pool eh_bench;' } : {}),
  broker: {
    relying_parties: [{ client_id: CLIENT.id, client_secret_sha256: crypto.createHash('sha256').update(CLIENT.secret).digest('hex'),
      redirect_uris: [CLIENT.cb], display_name: 'Bench portal', policy: 'basic', subject_type: 'pairwise' }],
    backends: { mobile_id: mobileIdSettings(sim, { rate_limit: { per_person: 1000, per_phone: 1000, per_client_address: 100000, window_seconds: 1 } }) },
  },
});
await new Promise((r) => setTimeout(r, 1000)); // the workers are forked
const ws = workersOf(broker.pid);
log(`nginx master ${broker.pid} workers ${ws.join(' ')}, simulator ${sim.pid}, ${redis ? `redis ${redis.pid}` : 'embedded store'}, driver ${process.pid}`);
const show = (label) => log(`${label}: ${ws.map((w) => { const m = mem(w); return `worker ${w} rss ${m.rss} anon ${m.anon} KiB`; }).join(', ')}; `
  + `workers' rss ${ws.reduce((s, w) => s + mem(w).rss, 0)} KiB`
  + (opt.smaps ? `\n  anonymous KiB by kind: ${ws.map((w) => `worker ${w} ${Object.entries(anonParts(w)).map(([k, v]) => `${k} ${v}`).join(' ')}`).join(', ')}` : ''));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** The workers' heap trims so far (eidhub_heap_trims_total, summed over the workers). */
async function trims() {
  const { text } = await request(undefined, broker.port, 'GET', '/metrics');
  const m = text.match(/^eidhub_heap_trims_total (\d+)$/m);
  if (!m) throw new Error('no eidhub_heap_trims_total in /metrics');
  return Number(m[1]);
}
/** --settle: idle before a memory sample, so that every sample is of an idle worker whose heaps
 *  were trimmed (each worker trims every 10 s): SECONDS, or "trim" for until the trims have grown
 *  by the number of workers (one each, as the module's timers are per worker; at most 30 s). */
async function settle() {
  if (opt.settle !== 'trim') return sleep(Number(opt.settle) * 1000);
  const first = await trims();
  for (let waited = 0; waited < 60; waited++) {
    await sleep(500);
    if (await trims() >= first + ws.length) return;
  }
  log('settle: the workers did not all trim within 30 s');
}
if (opt.monitor && redis) {
  const m = spawn('redis-cli', ['-p', String(redis.port), 'MONITOR'], { stdio: ['ignore', fs.openSync(opt.monitor, 'w'), 'inherit'] });
  await new Promise((r) => setTimeout(r, 300));
  await runPool(1, 1);
  await new Promise((r) => setTimeout(r, 300));
  m.kill();
}
await runPool(200, Number(opt.vus));
await settle();
show('after 200 warm-up logins');
let total = 200;
const cpus = () => ({ nginx: ws.reduce((s, w) => s + cpu(w), 0), simulator: cpu(sim.pid), ...(redis ? { redis: cpu(redis.pid) } : {}), driver: cpu(process.pid) });
for (const n of opt.steps.split(',').map(Number)) {
  const c0 = cpus(); const r0 = redis ? redisStats(redis.port) : {}; const reads0 = redis ? redisReads(redis.port) : 0;
  STEPS = {};
  const r = await runPool(n, Number(opt.vus));
  total += r.done;
  const c1 = cpus(); const r1 = redis ? redisStats(redis.port) : {}; const reads1 = redis ? redisReads(redis.port) : 0;
  log(`${r.done} logins in ${r.secs.toFixed(1)} s = ${(r.done / r.secs).toFixed(1)}/s, ${r.errors} errors; CPU ms per login: `
    + Object.keys(c0).map((k) => `${k} ${((c1[k] - c0[k]) * 1000 / r.done).toFixed(2)}`).join(', '));
  await settle();
  show(`after ${total} logins`);
  if (redis) log(`Redis commands per login (those of scripts included): ${Object.keys(r1).filter((k) => k !== 'info').map((k) => `${k} ${((r1[k] - (r0[k] ?? 0)) / r.done).toFixed(2)}`).join(', ')}`);
  // eidhub's own commands: the scripts' inner ones left out (each EVAL runs one GET); the two INFO calls' reads too
  const d = (k) => (r1[k] ?? 0) - (r0[k] ?? 0);
  const sent = Object.keys(r1).filter((k) => !['info', 'incr', 'pttl', 'pexpire', 'monitor'].includes(k)).reduce((sum, k) => sum + d(k), 0) - d('eval');
  if (redis) log(`Redis per login: ${(sent / r.done).toFixed(2)} commands sent by eidhub (those inside scripts not counted), `
    + `${((reads1 - reads0 - 2) / r.done).toFixed(2)} round trips (server read events)`);
  log(`p50 ms: ${Object.entries(STEPS).map(([k, v]) => `${k} ${Float64Array.from(v).sort()[v.length >> 1].toFixed(1)}`).join(', ')}`);
  if (opt['malloc-info']) {
    for (const w of ws) {
      const f = path.join(opt['malloc-info'], `malloc-info-${w}-${total}.xml`);
      spawnSync('gdb', ['-p', String(w), '-batch', '-ex', `call (void*)fopen("${f}","w")`, '-ex', 'call (int)malloc_info(0,$1)', '-ex', 'call (int)fclose($1)'], { encoding: 'utf8' });
    }
  }
}
if (Number(opt.hold)) await new Promise((r) => setTimeout(r, Number(opt.hold) * 1000));
await broker.stop(); await sim.stop(); await redis?.stop();
