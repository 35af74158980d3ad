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

/** Starts redis-server on a free loopback port; returns a handle. */
export async function startRedis() {
  const dir = tmpdir('eidhub-redis-');
  const port = await freePort();
  const proc = track(spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1',
    '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no'],
    { stdio: ['ignore', 'pipe', 'pipe'] }), 'redis', path.join(dir, 'redis.log'));
  await waitForPort(port, proc, 'redis-server');
  return {
    port, dir, pid: proc.pid, url: `redis://127.0.0.1:${port}/0`,
    pause() { process.kill(proc.pid, 'SIGSTOP'); },
    resume() { process.kill(proc.pid, 'SIGCONT'); },
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

/** The nginx.conf text for an eidhub instance. */
export function nginxConf({ dir, port, host = '127.0.0.1', store, workers = 2, timeoutMs = 500, extraHttp = '' }) {
  return `load_module ${MODULE};
daemon off;
master_process on;
worker_processes ${workers};
pid ${dir}/nginx.pid;
error_log ${dir}/error.log info;
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
    }
}
`;
}

/**
 * The environment nginx runs with: this process's, plus LD_PRELOAD of
 * EH_NGINX_PRELOAD when set (`./dev test-asan` preloads libasan there, as
 * Debian's nginx is not built with AddressSanitizer but the module is).
 */
export function nginxEnv() {
  const env = { ...process.env };
  if (process.env.EH_NGINX_PRELOAD) env.LD_PRELOAD = process.env.EH_NGINX_PRELOAD;
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
 * Returns a handle with the base URL.
 */
export async function startBroker({ broker = {}, store, workers = 2, timeoutMs = 500, port, host = '127.0.0.1', dir, extraHttp } = {}) {
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
  fs.writeFileSync(conf, nginxConf({ dir, port, host, store, workers, timeoutMs, extraHttp }));
  const proc = track(spawn('nginx', ['-p', dir, '-c', conf], { stdio: ['ignore', 'pipe', 'pipe'], env: nginxEnv() }),
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
 * Starts the Mobile-ID simulator (tests/sim/mobile-id.mjs) as its own
 * process on a free port. Its first start in a folder makes keys (a few
 * seconds on a busy machine). Returns {url, caFile, dir, pid, stop()}.
 */
export async function startMobileIdSim({ delayMs = 0 } = {}) {
  const dir = tmpdir('eidhub-mid-');
  const port = await freePort();
  const proc = track(spawn(process.execPath, [path.join(ROOT, 'tests/sim/mobile-id.mjs'), '--port', String(port),
    '--dir', dir, '--delay-ms', String(delayMs)], { stdio: ['ignore', 'pipe', 'pipe'] }), 'mobile-id', path.join(dir, 'sim.log'));
  await waitForPort(port, proc, 'mobile-id simulator', 30000);
  return {
    url: `http://127.0.0.1:${port}/mid-api`, caFile: path.join(dir, 'mid-ca.pem'), dir, pid: proc.pid,
    async stop() { await stopProc(proc); fs.rmSync(dir, { recursive: true, force: true }); },
  };
}

/** The broker's "mobile_id" backend settings for a simulator. */
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
 * on a free port. Its first start in a folder makes RSA keys: allow a few
 * seconds. Returns {url, caFile, dir, pid, stop()}.
 */
export async function startSmartIdSim({ delayMs = 0 } = {}) {
  const dir = tmpdir('eidhub-sid-');
  const port = await freePort();
  const proc = track(spawn(process.execPath, [path.join(ROOT, 'tests/sim/smart-id.mjs'), '--port', String(port),
    '--dir', dir, '--delay-ms', String(delayMs)], { stdio: ['ignore', 'pipe', 'pipe'] }), 'smart-id', path.join(dir, 'sim.log'));
  await waitForPort(port, proc, 'smart-id simulator', 30000);
  return {
    url: `http://127.0.0.1:${port}/smart-id-rp/v2`, caFile: path.join(dir, 'sid-ca.pem'), dir, pid: proc.pid,
    async stop() { await stopProc(proc); fs.rmSync(dir, { recursive: true, force: true }); },
  };
}

/** The broker's "smart_id" backend settings for a simulator. */
export function smartIdSettings(sim, extra = {}) {
  return {
    url: sim.url,
    relying_party_uuid: '00000000-0000-0000-0000-000000000000',
    relying_party_name: 'DEMO',
    trusted_ca_files: [sim.caFile],
    ...extra,
  };
}
