// Test and demo harness: starts real redis-server and real nginx (with the
// eidhub module) on free loopback ports from a temporary prefix, and stops
// them by pid. Every process started here is also killed when this Node
// process exits, so a failing test leaves nothing running.
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export const ROOT = process.env.EH_ROOT ?? path.resolve(import.meta.dirname, '../..');
export const BUILD = process.env.EH_BUILD ?? path.join(ROOT, 'build');
export const MODULE = path.join(BUILD, 'ngx_http_eidhub_module.so');
export const EIDHUBCTL = path.join(BUILD, 'tools', 'eidhubctl');

const children = new Set();
process.on('exit', () => {
  for (const c of children) {
    try { process.kill(c.pid, 'SIGCONT'); process.kill(c.pid, 'SIGKILL'); } catch { /* gone */ }
  }
});

/** A TCP port free on 127.0.0.1 now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

/** A new temporary folder. */
export function tmpdir(prefix = 'eidhub-') {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Waits until something accepts TCP connections on port. */
export async function waitForPort(port, proc, what, timeoutMs = 10000, host = '127.0.0.1') {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc && proc.exitCode !== null) throw new Error(`${what} exited with ${proc.exitCode}`);
    const ok = await new Promise((resolve) => {
      const s = net.connect(port, host, () => { s.destroy(); resolve(true); });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(50);
  }
  throw new Error(`${what} did not listen on ${port}`);
}

function track(proc, name, logFile) {
  children.add(proc);
  const out = fs.createWriteStream(logFile);
  proc.stdout?.pipe(out);
  proc.stderr?.pipe(out);
  proc.on('exit', () => children.delete(proc));
  proc.name = name;
  return proc;
}

async function stopProc(proc, signal = 'SIGTERM') {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((resolve) => proc.once('exit', resolve));
  try { process.kill(proc.pid, 'SIGCONT'); } catch { /* gone */ }
  proc.kill(signal);
  const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(t);
}

/**
 * Starts redis-server on a loopback port (a free one unless port is given)
 * with its files in dir (a new folder unless given); appendonly: keep an
 * append-only file (fsync every second), so that a Redis killed and started
 * again on the same port and dir comes back with its keys. Returns a handle;
 * kill() is SIGKILL (the folder stays, for a restart), stop() also removes
 * the folder.
 */
export async function startRedis({ port, dir, appendonly = false } = {}) {
  dir ??= tmpdir('eidhub-redis-');
  port ??= await freePort();
  const proc = track(spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1',
    '--save', '', '--appendonly', appendonly ? 'yes' : 'no', '--appendfsync', 'everysec', '--dir', dir, '--daemonize', 'no'],
    { stdio: ['ignore', 'pipe', 'pipe'] }), 'redis', path.join(dir, `redis-${Date.now()}.log`));
  await waitForPort(port, proc, 'redis-server');
  return {
    port, dir, pid: proc.pid, url: `redis://127.0.0.1:${port}/0`,
    pause() { process.kill(proc.pid, 'SIGSTOP'); },
    resume() { process.kill(proc.pid, 'SIGCONT'); },
    async kill() { await stopProc(proc, 'SIGKILL'); },
    async stop() { await stopProc(proc); fs.rmSync(dir, { recursive: true, force: true }); },
  };
}

/** Runs eidhubctl with args; returns {status, stdout, stderr}. */
export function eidhubctl(...args) {
  const r = spawnSync(EIDHUBCTL, args, { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The password_hash `eidhubctl passwd` prints for password (read from stdin). */
export function passwordHash(password) {
  const r = spawnSync(EIDHUBCTL, ['passwd'], { input: `${password}\n`, encoding: 'utf8' });
  const hash = r.stdout?.match(/scrypt\$\S+/)?.[0];
  if (r.status !== 0 || !hash) throw new Error(`eidhubctl passwd failed (${r.status}): ${r.stderr}${r.stdout}`);
  return hash;
}

/** A new policy directory that nginx's workers (running as nobody) can write. */
export function policyDirectory() {
  const dir = tmpdir('eidhub-policies-');
  fs.chmodSync(dir, 0o777);
  return dir;
}

/** Writes a new EC P-256 key with eidhubctl and returns its path. */
export function keygen(dir, name = 'signing-key.pem', ...opts) {
  const file = path.join(dir, name);
  const r = eidhubctl('keygen', ...opts, file);
  if (r.status !== 0) throw new Error(`eidhubctl keygen failed: ${r.stderr}`);
  return file;
}

/**
 * The nginx.conf text for an eidhub instance (extraMain: lines for nginx's
 * main context, such as a thread_pool; keepEnv: names of environment
 * variables its workers keep; errorLogLevel: of its error.log, "info" shows
 * eidhub's line per request, "notice" leaves them out but keeps nginx's
 * worker starts and exits that reload() waits for).
 */
export function nginxConf({ dir, port, host = '127.0.0.1', store, workers = 2, timeoutMs = 500, extraMain = '', extraHttp = '', extraServer = '', keepEnv = [], errorLogLevel = 'info' }) {
  return `load_module ${MODULE};
${extraMain}
${keepEnv.map((name) => `env ${name};\n`).join('')}daemon off;
master_process on;
worker_processes ${workers};
pid ${dir}/nginx.pid;
error_log ${dir}/error.log ${errorLogLevel};
events { worker_connections 1024; }
http {
    access_log ${dir}/access.log;
    client_body_temp_path ${dir}/body;
    proxy_temp_path ${dir}/proxy;
    fastcgi_temp_path ${dir}/fastcgi;
    uwsgi_temp_path ${dir}/uwsgi;
    scgi_temp_path ${dir}/scgi;
    eidhub_config ${dir}/broker.json;
    ${store ? `eidhub_store ${store};` : ''}
    eidhub_store_timeout ${timeoutMs}ms;
    ${extraHttp}
    server {
        listen ${host}:${port};
        location / { eidhub; }
        ${extraServer}
    }
}
`;
}

/**
 * The environment nginx runs with: this process's, plus extra (e.g. a test's
 * libfaketime: {LD_PRELOAD, FAKETIME}), plus LD_PRELOAD of EH_NGINX_PRELOAD
 * when set (`./dev test-asan` preloads libasan there, as Debian's nginx is
 * not built with AddressSanitizer but the module is). Both preloads at once
 * are joined with ':', extra's first: libasan first and libfaketime after it
 * wait for each other forever at start, so ASan is told not to insist on
 * coming first (verify_asan_link_order=0).
 */
export function nginxEnv(extra = {}) {
  const env = { ...process.env, ...extra };
  const asan = process.env.EH_NGINX_PRELOAD;
  if (asan && extra.LD_PRELOAD) {
    env.LD_PRELOAD = `${extra.LD_PRELOAD}:${asan}`;
    env.ASAN_OPTIONS = [env.ASAN_OPTIONS, 'verify_asan_link_order=0'].filter(Boolean).join(':');
  } else if (asan) {
    env.LD_PRELOAD = asan;
  }
  return env;
}

/** Runs `nginx -t` on conf (text) in dir; returns {status, stderr}. */
export function nginxTest(dir, conf) {
  const file = path.join(dir, 'nginx-test.conf');
  fs.writeFileSync(file, conf);
  const r = spawnSync('nginx', ['-t', '-p', dir, '-c', file], { encoding: 'utf8', env: nginxEnv() });
  return { status: r.status, stderr: r.stderr };
}

/**
 * Starts nginx with the module. broker: the broker configuration object
 * (issuer and keys are filled in when absent). host: the loopback address
 * it listens on (another one than 127.0.0.1, e.g. 127.0.0.2, gives a second
 * broker its own cookies in a browser). dir: its folder (new when absent).
 * env: extra environment variables for nginx (see nginxEnv), kept for its
 * workers too (nginx's `env` directive; nginx clears the rest for them).
 * errorLogLevel: see nginxConf. Returns a handle with the base URL.
 */
export async function startBroker({ broker = {}, store, workers = 2, timeoutMs = 500, port, host = '127.0.0.1', dir, extraMain, extraHttp, extraServer, env = {}, errorLogLevel } = {}) {
  dir ??= tmpdir('eidhub-nginx-');
  port ??= await freePort();
  const issuer = `http://${host}:${port}`;
  const cfg = { issuer, ...broker };
  if (!cfg.keys) cfg.keys = [{ file: keygen(dir), active: true }];
  if (!cfg.subject_secret_file) {
    fs.writeFileSync(path.join(dir, 'subject.secret'), crypto.randomBytes(32).toString('base64url'), { mode: 0o600 });
    cfg.subject_secret_file = 'subject.secret';
  }
  fs.writeFileSync(path.join(dir, 'broker.json'), JSON.stringify(cfg, null, 2));
  const conf = path.join(dir, 'nginx.conf');
  const keepEnv = Object.keys(env).filter((name) => name !== 'LD_PRELOAD'); // workers are forked: the preload stays
  fs.writeFileSync(conf, nginxConf({ dir, port, host, store, workers, timeoutMs, extraMain, extraHttp, extraServer, keepEnv, errorLogLevel }));
  const proc = track(spawn('nginx', ['-p', dir, '-c', conf], { stdio: ['ignore', 'pipe', 'pipe'], env: nginxEnv(env) }),
    'nginx', path.join(dir, 'nginx.out'));
  try {
    await waitForPort(port, proc, 'nginx', 10000, host);
  } catch (e) {
    const read = (f) => { try { return fs.readFileSync(path.join(dir, f), 'utf8'); } catch { return ''; } };
    throw new Error(`${e.message}\n${read('nginx.out')}${read('error.log')}`);
  }
  return {
    dir, port, url: issuer, pid: proc.pid,
    errorLog() { return fs.readFileSync(path.join(dir, 'error.log'), 'utf8'); },
    /**
     * nginx -s reload: SIGHUP to the master, then waits (10 s at most) until
     * the master has started the new workers and every old one has exited.
     */
    async reload() {
      const log = path.join(dir, 'error.log');
      const from = fs.statSync(log).size;
      process.kill(proc.pid, 'SIGHUP');
      const deadline = Date.now() + 10000;
      while (Date.now() < deadline) {
        const text = fs.readFileSync(log, 'utf8').slice(from);
        const started = (text.match(/start worker process \d+/g) ?? []).length;
        const exited = (text.match(/worker process \d+ exited/g) ?? []).length;
        if (/\[emerg\]/.test(text)) throw new Error(`reload failed: ${text}`);
        if (started >= workers && exited >= workers) return;
        await sleep(50);
      }
      throw new Error('nginx did not finish reloading in 10 s');
    },
    async stop() { await stopProc(proc, 'SIGQUIT'); keepSanitizerReports(dir); fs.rmSync(dir, { recursive: true, force: true }); },
  };
}

/**
 * Under `./dev test-asan` (EH_SANITIZER_REPORTS: a folder), copies the lines
 * of nginx's error log and output from the first sanitizer report on into
 * that folder, where the run looks for them (nginx sends its workers' stderr
 * to the error log); a worker that died of a signal counts as a report too.
 */
function keepSanitizerReports(dir) {
  const out = process.env.EH_SANITIZER_REPORTS;
  if (!out) return;
  for (const f of ['error.log', 'nginx.out']) {
    let text;
    try { text = fs.readFileSync(path.join(dir, f), 'utf8'); } catch { continue; }
    const at = text.search(/runtime error:|ERROR: AddressSanitizer|ERROR: LeakSanitizer|SUMMARY: UndefinedBehaviorSanitizer|exited on signal/);
    if (at >= 0) fs.writeFileSync(path.join(out, `${path.basename(dir)}-${f}`), text.slice(Math.max(0, text.lastIndexOf('\n', at) + 1)));
  }
}

/**
 * Stops (on false) or starts again (on true) the OCSP responder of a
 * simulator process started below: SIGUSR2 toggles it, and the simulator
 * writes the new state into <dir>/ocsp.state.
 */
async function setSimOcsp(proc, dir, state, on) {
  if (state.running === on) return;
  const file = path.join(dir, 'ocsp.state');
  fs.rmSync(file, { force: true });
  process.kill(proc.pid, 'SIGUSR2');
  const want = on ? 'running' : 'stopped';
  const deadline = Date.now() + 15000;
  while (Date.now() < deadline) {
    let text = '';
    try { text = fs.readFileSync(file, 'utf8').trim(); } catch { /* not yet */ }
    if (text === want) { state.running = on; return; }
    await sleep(50);
  }
  throw new Error(`the simulator's OCSP responder is not ${want} after 15 s`);
}

/**
 * Starts the Mobile-ID simulator (tests/sim/mobile-id.mjs) as its own
 * process on a free port, with its CA's OCSP responder on another (the
 * certificates name it: eidhub checks revocation there). Its first start in
 * a folder makes keys (many seconds on a busy machine). Returns {url,
 * caFile, ocspUrl, dir, pid, setOcspRunning(on), stop()}.
 */
export async function startMobileIdSim({ delayMs = 0 } = {}) {
  const dir = tmpdir('eidhub-mid-');
  const port = await freePort();
  const ocspPort = await freePort();
  const proc = track(spawn(process.execPath, [path.join(ROOT, 'tests/sim/mobile-id.mjs'), '--port', String(port),
    '--dir', dir, '--delay-ms', String(delayMs), '--ocsp-port', String(ocspPort)], { stdio: ['ignore', 'pipe', 'pipe'] }),
  'mobile-id', path.join(dir, 'sim.log'));
  await waitForPort(port, proc, 'mobile-id simulator', 90000);
  const ocsp = { running: true };
  return {
    url: `http://127.0.0.1:${port}/mid-api`, caFile: path.join(dir, 'mid-ca.pem'), ocspUrl: `http://127.0.0.1:${ocspPort}/`,
    dir, pid: proc.pid,
    setOcspRunning: (on) => setSimOcsp(proc, dir, ocsp, on),
    async stop() { await stopProc(proc); fs.rmSync(dir, { recursive: true, force: true }); },
  };
}

/**
 * The broker's "mobile_id" backend settings for a simulator. The revocation
 * check is on (the default): the certificates name the simulator's OCSP
 * responder.
 */
export function mobileIdSettings(sim, extra = {}) {
  return {
    url: sim.url,
    relying_party_uuid: '00000000-0000-0000-0000-000000000000',
    relying_party_name: 'DEMO',
    trusted_ca_files: [sim.caFile],
    ...extra,
  };
}

/**
 * Starts the Smart-ID simulator (tests/sim/smart-id.mjs) as its own process
 * on a free port, with its CA's OCSP responder on another. Its first start
 * in a folder makes RSA keys: allow many seconds. Returns {url, caFile,
 * ocspUrl, dir, pid, setOcspRunning(on), stop()}.
 */
export async function startSmartIdSim({ delayMs = 0 } = {}) {
  const dir = tmpdir('eidhub-sid-');
  const port = await freePort();
  const ocspPort = await freePort();
  const proc = track(spawn(process.execPath, [path.join(ROOT, 'tests/sim/smart-id.mjs'), '--port', String(port),
    '--dir', dir, '--delay-ms', String(delayMs), '--ocsp-port', String(ocspPort)], { stdio: ['ignore', 'pipe', 'pipe'] }),
  'smart-id', path.join(dir, 'sim.log'));
  await waitForPort(port, proc, 'smart-id simulator', 90000);
  const ocsp = { running: true };
  return {
    url: `http://127.0.0.1:${port}/smart-id-rp/v2`, caFile: path.join(dir, 'sid-ca.pem'), ocspUrl: `http://127.0.0.1:${ocspPort}/`,
    dir, pid: proc.pid,
    setOcspRunning: (on) => setSimOcsp(proc, dir, ocsp, on),
    async stop() { await stopProc(proc); fs.rmSync(dir, { recursive: true, force: true }); },
  };
}

/**
 * The broker's "smart_id" backend settings for a simulator (revocation
 * checked at the simulator's OCSP responder, as for Mobile-ID).
 */
export function smartIdSettings(sim, extra = {}) {
  return {
    url: sim.url,
    relying_party_uuid: '00000000-0000-0000-0000-000000000000',
    relying_party_name: 'DEMO',
    trusted_ca_files: [sim.caFile],
    ...extra,
  };
}

/** The RESP2 reply that starts at buf[i]: {value, next}, or null while incomplete. */
function parseResp(buf, i) {
  const eol = buf.indexOf('\r\n', i);
  if (eol < 0) return null;
  const line = buf.toString('utf8', i + 1, eol);
  const type = String.fromCharCode(buf[i]);
  if (type === '+') return { value: line, next: eol + 2 };
  if (type === '-') return { value: new Error(line), next: eol + 2 };
  if (type === ':') return { value: Number(line), next: eol + 2 };
  if (type === '$') {
    const n = Number(line);
    if (n < 0) return { value: null, next: eol + 2 };
    if (buf.length < eol + 2 + n + 2) return null;
    return { value: buf.toString('utf8', eol + 2, eol + 2 + n), next: eol + 2 + n + 2 };
  }
  if (type === '*') {
    const n = Number(line);
    if (n < 0) return { value: null, next: eol + 2 };
    const items = [];
    let at = eol + 2;
    for (let k = 0; k < n; k++) {
      const r = parseResp(buf, at);
      if (!r) return null;
      items.push(r.value);
      at = r.next;
    }
    return { value: items, next: at };
  }
  throw new Error(`not RESP: ${JSON.stringify(line)}`);
}

/**
 * Sends one command (an array of strings) to the Redis or Sentinel on
 * 127.0.0.1:port and resolves with its RESP2 reply (strings, numbers,
 * arrays, null); an error reply, a refused connection or no answer within
 * timeoutMs rejects.
 */
export function respCommand(port, args, timeoutMs = 2000) {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    const t = setTimeout(() => { s.destroy(); reject(new Error(`no answer from port ${port}`)); }, timeoutMs);
    const done = (fn, v) => { clearTimeout(t); s.destroy(); fn(v); };
    s.on('connect', () => s.write(`*${args.length}\r\n` + args.map((a) => `$${Buffer.byteLength(String(a))}\r\n${a}\r\n`).join('')));
    s.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      let r;
      try { r = parseResp(buf, 0); } catch (e) { done(reject, e); return; }
      if (r) done(r.value instanceof Error ? reject : resolve, r.value);
    });
    s.on('error', (e) => done(reject, e));
  });
}

/** A flat [name, value, ...] reply (SENTINEL MASTER, INFO-like) as an object. */
function fields(flat) {
  const o = {};
  for (let i = 0; i + 1 < flat.length; i += 2) o[flat[i]] = flat[i + 1];
  return o;
}

/**
 * Starts a Redis master and `replicas` replicas of it (--replicaof), each
 * with a config file of its own, and three redis-sentinel processes watching
 * them as the master group `name` (quorum 2, down-after 1 s, failover-timeout
 * 3 s), each with its own writable sentinel.conf; all on free loopback ports.
 * Waits until every sentinel knows the master, every replica and the two
 * other sentinels, and every replica is in sync. Returns:
 *  - url: the eidhub store URL, redis://s1,s2,s3/0?sentinel=name
 *  - sentinels: their ports; servers: every Redis port
 *  - master(): the port the sentinels name as master now
 *  - failover(): SENTINEL FAILOVER, then waits until every sentinel names
 *    the new master and it says it is one; resolves {from, to, ms}
 *  - killMaster(): SIGKILL to the master's redis-server, then waits the
 *    same way; resolves {from, to, ms}
 *  - ready(): waits until every live server is an in-sync replica of the
 *    master again (after a failover the old master rejoins as a replica
 *    some 10 s later)
 *  - stop(): stops every process (by pid) and removes the folders.
 */
export async function startSentinelSet({ name = 'm', replicas = 1, waitMs = 20000 } = {}) {
  const dir = tmpdir('eidhub-sentinel-');
  const servers = new Map(); // port -> process
  const sentinels = [];
  const procs = [];
  const startServer = async (port, replicaOf) => {
    const conf = path.join(dir, `redis-${port}.conf`);
    fs.writeFileSync(conf, [`port ${port}`, 'bind 127.0.0.1', "save ''", 'appendonly no', `dir ${dir}`,
      `dbfilename dump-${port}.rdb`, 'repl-diskless-sync-delay 0', ...(replicaOf ? [`replicaof 127.0.0.1 ${replicaOf}`] : [])].join('\n') + '\n');
    const proc = track(spawn('redis-server', [conf], { stdio: ['ignore', 'pipe', 'pipe'] }), 'redis',
      path.join(dir, `redis-${port}.log`));
    procs.push(proc);
    servers.set(port, proc);
    await waitForPort(port, proc, 'redis-server');
  };
  const stop = async () => {
    await Promise.all(procs.map((p) => stopProc(p)));
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    const masterPort = await freePort();
    await startServer(masterPort);
    for (let i = 0; i < replicas; i++) await startServer(await freePort(), masterPort);
    for (let i = 0; i < 3; i++) {
      const port = await freePort();
      const conf = path.join(dir, `sentinel-${port}.conf`);
      fs.writeFileSync(conf, [`port ${port}`, 'bind 127.0.0.1', 'daemonize no', `dir ${dir}`,
        `sentinel monitor ${name} 127.0.0.1 ${masterPort} 2`, `sentinel down-after-milliseconds ${name} 1000`,
        `sentinel failover-timeout ${name} 3000`, `sentinel parallel-syncs ${name} 1`].join('\n') + '\n');
      const proc = track(spawn('redis-sentinel', [conf], { stdio: ['ignore', 'pipe', 'pipe'] }), 'redis-sentinel',
        path.join(dir, `sentinel-${port}.log`));
      procs.push(proc);
      sentinels.push(port);
      await waitForPort(port, proc, 'redis-sentinel');
    }
  } catch (e) {
    await stop();
    throw e;
  }
  const master = async () => {
    let error;
    for (const port of sentinels) {
      try { return Number((await respCommand(port, ['SENTINEL', 'get-master-addr-by-name', name], 5000))[1]); } catch (e) { error = e; }
    }
    throw error;
  };
  /**
   * Waits until every sentinel names one master other than `from` and that
   * master says it is one; without `from`, also until every other live
   * server is its in-sync replica and every sentinel knows the replicas and
   * the two other sentinels.
   */
  const settle = async (from, what) => {
    const t0 = Date.now();
    const live = () => [...servers].filter(([, p]) => p.exitCode === null && p.signalCode === null).map(([port]) => port);
    let last = '';
    while (Date.now() - t0 < waitMs) {
      try {
        const named = await Promise.all(sentinels.map((s) => respCommand(s, ['SENTINEL', 'get-master-addr-by-name', name], 500)));
        const ports = new Set(named.map((a) => Number(a[1])));
        const [to] = ports;
        last = `sentinels name ${[...ports].join(', ')}`;
        if (ports.size === 1 && to !== from) {
          const role = await respCommand(to, ['ROLE'], 500);
          const views = await Promise.all(sentinels.map((s) => respCommand(s, ['SENTINEL', 'MASTER', name], 500).then(fields)));
          const synced = role[0] === 'master' ? role[2].map((r) => Number(r[1])) : [];
          last += `; ${to} is ${role[0]} with replicas ${synced.join(', ')}; sentinels see ${views.map((v) => `${v['num-slaves']} replicas, ${v['num-other-sentinels']} sentinels`).join(' / ')}`;
          const replicasUp = live().filter((p) => p !== to).every((p) => synced.includes(p));
          const ready = replicasUp && views.every((v) => Number(v['num-other-sentinels']) === 2 && Number(v['num-slaves']) >= replicas);
          if (role[0] === 'master' && (from !== undefined || ready)) {
            return { from, to, ms: Date.now() - t0 };
          }
        }
      } catch (e) { last = e.message; }
      await sleep(100);
    }
    throw new Error(`${what}: the sentinels did not settle in ${waitMs} ms (${last})`);
  };
  try {
    await settle(undefined, 'start');
  } catch (e) {
    await stop();
    throw e;
  }
  return {
    url: `redis://${sentinels.map((p) => `127.0.0.1:${p}`).join(',')}/0?sentinel=${name}`,
    name, sentinels, servers: [...servers.keys()], dir, master,
    async failover() {
      const from = await master();
      const t0 = Date.now();
      for (;;) {
        try { await respCommand(sentinels[0], ['SENTINEL', 'FAILOVER', name], 5000); break; } catch (e) {
          if (Date.now() - t0 > waitMs || !/NOGOODSLAVE|INPROG/.test(e.message)) throw e;
          await sleep(200);
        }
      }
      const r = await settle(from, 'failover');
      return { ...r, ms: Date.now() - t0 };
    },
    async killMaster() {
      const from = await master();
      const t0 = Date.now();
      const proc = servers.get(from);
      const exited = new Promise((resolve) => proc.once('exit', resolve));
      proc.kill('SIGKILL');
      await exited;
      const r = await settle(from, 'failover after the master was killed');
      return { ...r, ms: Date.now() - t0 };
    },
    async ready() { return settle(undefined, 'ready'); },
    stop,
  };
}
