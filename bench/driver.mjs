// The pieces of the load drivers shared by bench/bench.mjs (issue 7) and
// bench/soak.mjs (issue 8): a keep-alive HTTP client and a cookie-keeping
// browser over it, the closed-loop pool that measures a rate (count jobs,
// `vus` at a time, bounded in time), percentiles, and the machine facts
// (nginx workers' memory, Redis, CPU). Everything talks to 127.0.0.1.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';

/** Each request's time by "METHOD path" while timing.steps is an object (bench.mjs sets it). */
export const timing = { steps: null };
let logLine = (m) => process.stderr.write(`${m}\n`);
/** Where runPool reports its errors (a function of one line). */
export function setLog(fn) { logLine = fn; }

// ---------------------------------------------------------------- HTTP client
// One virtual user = one keep-alive connection (an http.Agent with one socket), like a browser tab.
export function request(agent, port, method, pathname, { headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const h = { ...headers };
    if (body !== undefined) h['content-length'] = Buffer.byteLength(body);
    const t0 = performance.now();
    const r = http.request({ host: '127.0.0.1', port, method, path: pathname, agent, headers: h }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, text: Buffer.concat(chunks).toString(), ms: performance.now() - t0 }));
      res.on('error', reject);
    });
    r.setTimeout(30000, () => r.destroy(new Error(`timeout ${method} ${pathname}`)));
    r.on('error', (e) => { e.message += ` (${method} ${pathname.split('?')[0]} on :${port})`; reject(e); });
    r.end(body);
  });
}
export const newAgent = () => new http.Agent({ keepAlive: true, maxSockets: 1 });
export const b64u = (b) => Buffer.from(b).toString('base64url');
export const form = (o) => new URLSearchParams(o).toString();
export const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

export class Browser {
  constructor(agent, port) { this.agent = agent; this.port = port; this.cookies = new Map(); this.requests = 0; this.times = []; }
  async req(method, p, opts = {}) {
    const headers = { ...(opts.headers ?? {}) };
    if (this.cookies.size) headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const r = await request(this.agent, this.port, method, p, { ...opts, headers });
    this.requests++; this.times.push(r.ms);
    if (timing.steps) { const k = `${method} ${p.split('?')[0]}`; (timing.steps[k] ??= []).push(r.ms); }
    for (const line of r.headers['set-cookie'] ?? []) {
      const [pair] = line.split(';'); const i = pair.indexOf('=');
      const k = pair.slice(0, i).trim(); const v = pair.slice(i + 1).trim();
      if (v === '' || /max-age=0/i.test(line)) this.cookies.delete(k); else this.cookies.set(k, v);
    }
    return r;
  }
}
export function expect(r, status, what) {
  if (r.status !== status) throw new Error(`${what}: HTTP ${r.status} (expected ${status}) ${r.text.slice(0, 200)}`);
  return r;
}

// ---------------------------------------------------------------- closed-loop rate
export const pct = (arr, p) => { if (!arr.length) return NaN; const s = Float64Array.from(arr).sort(); return s[Math.min(s.length - 1, Math.floor(p / 100 * s.length))]; };

/** count jobs with vus concurrent virtual users, bounded by count and time. */
export async function runPool(count, vus, limitMs, job) {
  const agents = Array.from({ length: vus }, newAgent);
  let next = 0; let done = 0; let errors = 0; let firstError = null; const lat = []; const results = [];
  const deadline = Date.now() + limitMs; const t0 = performance.now();
  await Promise.all(agents.map(async (agent) => {
    while (next < count && Date.now() < deadline) {
      const i = next++;
      try { const r = await job(agent, i); done++; if (r?.ms !== undefined) lat.push(r.ms); results.push(r); } catch (e) { errors++; firstError ??= e; }
    }
  }));
  const secs = (performance.now() - t0) / 1000;
  agents.forEach((a) => a.destroy());
  if (firstError) logLine(`${errors} errors, first: ${firstError.stack}`);
  return { done, errors, secs, rate: done / secs, p50: pct(lat, 50), p99: pct(lat, 99), results, timedOut: next < count };
}

// ---------------------------------------------------------------- machine facts
export function workerRssKiB(masterPid) {
  const r = spawnSync('ps', ['--ppid', String(masterPid), '-o', 'rss=,args='], { encoding: 'utf8' });
  return r.stdout.split('\n').filter((l) => /worker process/.test(l)).reduce((s, l) => s + Number(l.trim().split(/\s+/)[0]), 0);
}
export function redisCli(port, ...args) {
  const r = spawnSync('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`redis-cli ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}
export const redisInfo = (port, db) => {
  const info = redisCli(port, 'INFO', 'memory');
  return { used: Number(info.match(/used_memory:(\d+)/)[1]), keys: Number(redisCli(port, '-n', String(db), 'DBSIZE').trim()) };
};

/** CPU seconds (user+system) used so far by each named process (nginx: master and its workers). */
export function cpuOf(pids) {
  const tick = 100; // USER_HZ on Linux
  const one = (pid) => { try { const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' '); return (Number(f[11]) + Number(f[12])) / tick; } catch { return 0; } };
  const out = {};
  for (const [name, pid] of Object.entries(pids)) {
    let t = one(pid);
    if (name.startsWith('nginx')) for (const w of spawnSync('ps', ['--ppid', String(pid), '-o', 'pid='], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean)) t += one(w.trim());
    out[name] = t;
  }
  return out;
}
export const cpuDelta = (a, b, secs) => Object.fromEntries(Object.keys(a).map((k) => [k, (b[k] - a[k]) / secs]));
/** CPU seconds the whole machine has been busy (all processes, from /proc/stat). */
export function machineBusy() {
  const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  return (f[0] + f[1] + f[2] + f[5] + f[6] + f[7]) / 100; // user nice system irq softirq steal
}
