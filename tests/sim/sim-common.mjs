// What the eID service simulators (mobile-id.mjs, smart-id.mjs) share: test
// people who exist in more than one of them, hash types and RSA PKCS#1 v1.5
// signing, request-body reading and validation helpers, the session store
// with long polling, the HTTP server with its routing, the per-folder cache of
// test certificates, and the command line scaffolding. The wire formats
// themselves (error bodies, field names) stay in each simulator.
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freeTcpPort, startOcspResponder } from './test-ca.mjs';

// ---------------------------------------------------------------------------
// Test people who exist in several simulators, so that one person can log in
// with either method (and eidhub's pairwise subject be shown equal across
// methods). Each simulator adds its own fields (phone, outcome, key, ...).

export const PEOPLE = Object.freeze({
  /** Adult woman with Mobile-ID (SK's DEMO number) and Smart-ID: logs in fine with both. */
  maryAnn: Object.freeze({ personalCode: '60001019906', givenName: 'Mary Änn', surname: 'O’Connež-Šuslik Testnumber' }),
  /** Has neither Mobile-ID nor Smart-ID. */
  liisa: Object.freeze({ personalCode: '60001019939', givenName: 'Liisa', surname: 'Kuusk' }),
  /** The hostile ones: the service says OK but what it returns must be rejected. */
  andres: Object.freeze({ personalCode: '39005151236', givenName: 'Andres', surname: 'Oja' }),
  helgi: Object.freeze({ personalCode: '47503022219', givenName: 'Helgi', surname: 'Põld' }),
  katrin: Object.freeze({ personalCode: '48506150301', givenName: 'Katrin', surname: 'Väli' }),
  /** Katrin's twin brother, whose certificate she is handed. */
  peeter: Object.freeze({ personalCode: '38506150311', givenName: 'Peeter', surname: 'Väli' }),
  laura: Object.freeze({ personalCode: '61009300422', givenName: 'Laura', surname: 'Sepp' }),
  /** His certificate is revoked: the OCSP responder of the simulator's CA says so. */
  rein: Object.freeze({ personalCode: '37707071238', givenName: 'Rein', surname: 'Raudsepp' }),
});

// ---------------------------------------------------------------------------
// Hashes and RSA signatures

/** Hash types of the APIs: length in bytes, node's name, and the DER DigestInfo prefix for RSA PKCS#1 v1.5. */
export const HASH_TYPES = Object.freeze({
  SHA256: { bytes: 32, node: 'sha256', digestInfo: Buffer.from('3031300d060960864801650304020105000420', 'hex') },
  SHA384: { bytes: 48, node: 'sha384', digestInfo: Buffer.from('3041300d060960864801650304020205000430', 'hex') },
  SHA512: { bytes: 64, node: 'sha512', digestInfo: Buffer.from('3051300d060960864801650304020305000440', 'hex') },
});

/** DER DigestInfo(hashType) || hash: what an RSA PKCS#1 v1.5 signature covers. */
export function digestInfo(hashType, hash) {
  return Buffer.concat([HASH_TYPES[hashType].digestInfo, hash]);
}

/** RSA PKCS#1 v1.5 signature over DigestInfo(hashType) || hash, the hash as given (not hashed again). */
export function rsaSignHash(privateKey, hashType, hash) {
  return crypto.privateEncrypt({ key: privateKey, padding: crypto.constants.RSA_PKCS1_PADDING }, digestInfo(hashType, hash));
}

/** Some other hash of the same type and length (for the "signature over another hash" test people). */
export function otherHash(hashType, hash) {
  return crypto.createHash(HASH_TYPES[hashType].node).update(hash).digest();
}

// ---------------------------------------------------------------------------
// Request validation helpers

export const UUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
export const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** The first problem with b.hash / b.hashType (both already known to be strings), or null. */
export function hashProblem(b) {
  if (!Object.hasOwn(HASH_TYPES, b.hashType)) return `hashType must be one of ${Object.keys(HASH_TYPES).join(', ')}`;
  if (!BASE64_RE.test(b.hash) || b.hash.length === 0) return 'Hash must be Base64 encoded';
  if (Buffer.from(b.hash, 'base64').length !== HASH_TYPES[b.hashType].bytes) return 'The length of the hash must match the type of hash';
  return null;
}

/** The first of fields that is missing (undefined or null) or not a string in b, as an error text, or null. */
export function requiredStrings(b, fields) {
  for (const f of fields) {
    if (b[f] === undefined || b[f] === null) return `${f} must not be null`;
    if (typeof b[f] !== 'string') return `${f} must be a string`;
  }
  return null;
}

// ---------------------------------------------------------------------------
// HTTP

/** Writes a whole response: a string as text/plain, anything else as JSON. */
export function send(res, status, body, headers = {}) {
  if (res.headersSent || res.destroyed) return;
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, {
    'content-type': typeof body === 'string' ? 'text/plain;charset=UTF-8' : 'application/json;charset=UTF-8',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

export function readBody(req, limit = 64 * 1024) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (d) => {
      size += d.length;
      if (size > limit) reject(Object.assign(new Error('Request body too large'), { status: 413 }));
      else chunks.push(d);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/**
 * The request body as a JSON object, or null after answering with
 * sendError(res, status, message): 400 if it is not a JSON object, 413 if too large.
 */
export async function readJsonObject(req, res, sendError) {
  let body;
  try {
    body = JSON.parse(await readBody(req));
  } catch (e) {
    sendError(res, e.status ?? 400, e.status ? e.message : 'Request body must be valid JSON');
    return null;
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    sendError(res, 400, 'Request body must be a JSON object');
    return null;
  }
  return body;
}

/**
 * The long-poll timeout from a query string value: null if absent (use the
 * default), NaN if not a whole number, else clamped into [minMs, maxMs].
 */
export function longPollTimeout(raw, { minMs, maxMs, defaultMs }) {
  if (raw === null || raw === undefined) return defaultMs;
  if (!/^\d+$/.test(raw)) return NaN;
  return Math.min(maxMs, Math.max(minMs, Number(raw)));
}

/**
 * Starts an HTTP server on host:port whose paths below basePath are routed:
 * routes is a list of { re, methods, handle(req, res, match, searchParams) }
 * matched against the path less basePath. Unknown paths: sendError 404;
 * a known path with another method: 405 with Allow; OPTIONS: 200 with Allow.
 * Returns the server, listening.
 */
export async function startServer({ host, port, basePath, routes, sendError, say = () => {} }) {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://localhost');
    if (!url.pathname.startsWith(`${basePath}/`)) return sendError(res, 404, 'Not Found');
    const sub = url.pathname.slice(basePath.length);
    const route = routes.find((r) => r.re.test(sub));
    if (!route) return sendError(res, 404, 'Not Found');
    const allow = [...route.methods, 'OPTIONS'].join(', ');
    if (req.method === 'OPTIONS') {
      res.writeHead(200, { allow, 'content-length': 0 });
      return res.end();
    }
    if (!route.methods.includes(req.method)) return sendError(res, 405, 'Method Not Allowed', { allow });
    Promise.resolve(route.handle(req, res, sub.match(route.re), url.searchParams)).catch((e) => {
      say(`internal error: ${e.stack}`);
      sendError(res, 500, 'Internal error');
    });
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => { server.off('error', reject); resolve(); });
  });
  return server;
}

/** Closes a server started by startServer, dropping open (long-poll) connections. */
export function closeServer(server) {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

// ---------------------------------------------------------------------------
// Sessions with long polling

/**
 * The sessions of a simulator. A session completes after delayMs and once
 * its outcome (a promise of the COMPLETE body) has settled; a long poll
 * waits for that or for its timeout. A newer poll of the same session makes
 * a pending older one answer at once (as SK's services do). Sessions expire
 * ttlMs after they were started (ttlFrom 'start') or completed ('complete').
 *   const store = createSessionStore({ ttlMs, ttlFrom, say, describe });
 *   const s = store.start({ delayMs, outcome });   s.id
 *   store.get(id) -> session or null (unknown or expired)
 *   store.wait(res, s, timeoutMs, respond)  // respond(res, s) when done or timed out
 *   store.isDone(s); s.failed; s.complete (the body)
 */
export function createSessionStore({ ttlMs, ttlFrom = 'start', say = () => {}, describe = (body) => body?.result }) {
  const sessions = new Map();

  const isDone = (s) => s.completedAt !== null;
  function expired(s, t = Date.now()) {
    if (ttlFrom === 'complete') return isDone(s) && t - s.completedAt > ttlMs;
    return t - s.created > ttlMs;
  }

  function start({ delayMs, outcome }) {
    const s = {
      id: crypto.randomUUID(), created: Date.now(), completedAt: null, complete: null, failed: false,
      due: false, computed: null, waiter: null, timer: null,
    };
    sessions.set(s.id, s);
    const settle = () => {
      if (!s.due || !(s.computed || s.failed) || isDone(s)) return;
      s.complete = s.failed ? null : s.computed;
      s.completedAt = Date.now();
      say(`session ${s.id}: ${s.failed ? 'internal error' : describe(s.complete)}`);
      s.waiter?.finish();
    };
    s.timer = setTimeout(() => { s.due = true; settle(); }, delayMs);
    Promise.resolve(outcome)
      .then((o) => { s.computed = o; })
      .catch((e) => { s.failed = true; say(`session ${s.id}: failed: ${e.message}`); })
      .finally(settle);
    return s;
  }

  function get(id) {
    const s = sessions.get(id);
    return s && !expired(s) ? s : null;
  }

  function wait(res, s, timeoutMs, respond) {
    if (isDone(s)) return respond(res, s);
    s.waiter?.finish();
    const w = {
      done: false,
      finish() {
        if (w.done) return;
        w.done = true;
        clearTimeout(w.timer);
        if (s.waiter === w) s.waiter = null;
        respond(res, s);
      },
    };
    w.timer = setTimeout(() => w.finish(), timeoutMs);
    s.waiter = w;
    res.on('close', () => {
      if (w.done) return;
      w.done = true;
      clearTimeout(w.timer);
      if (s.waiter === w) s.waiter = null;
    });
  }

  const sweeper = setInterval(() => {
    const t = Date.now();
    for (const [id, s] of sessions) {
      if (expired(s, t) && !s.waiter) {
        clearTimeout(s.timer);
        sessions.delete(id);
      }
    }
  }, Math.max(1000, Math.min(30000, ttlMs))).unref();

  function stop() {
    clearInterval(sweeper);
    for (const s of sessions.values()) {
      clearTimeout(s.timer);
      if (s.waiter) { clearTimeout(s.waiter.timer); s.waiter.done = true; }
    }
    sessions.clear();
  }

  return { start, get, wait, isDone, stop, sessions };
}

// ---------------------------------------------------------------------------
// Test certificates, made once per folder and reused while still fit

/**
 * Prepares a simulator's test PKI in dir/<workName>: loads it when its
 * manifest's fingerprint matches and its CA (<caName>.pem) is valid for at
 * least another day, else has make(tmpFolder) create it afresh (returning
 * the manifest to keep, relative paths) and swaps it in. load(work, manifest)
 * returns the material (and may throw to have it remade). The trusted CA is
 * copied to dir/<caName>.pem. Returns { ...material, caPem, caFile }.
 */
export async function prepareMaterial(dir, { workName, caName, fingerprint, make, load }) {
  fs.mkdirSync(dir, { recursive: true });
  const work = path.join(dir, workName);
  const tryLoad = () => {
    const manifest = JSON.parse(fs.readFileSync(path.join(work, 'manifest.json'), 'utf8'));
    if (manifest.fingerprint !== fingerprint) throw new Error('stale');
    const caPem = fs.readFileSync(path.join(work, `${caName}.pem`), 'utf8');
    if (Date.parse(new crypto.X509Certificate(caPem).validTo) < Date.now() + 86400e3) throw new Error('CA expires');
    return { ...load(work, manifest), caPem };
  };
  let material;
  try {
    material = tryLoad();
  } catch {
    const tmp = fs.mkdtempSync(path.join(dir, `${workName}.tmp-`));
    try {
      const manifest = await make(tmp);
      fs.writeFileSync(path.join(tmp, 'manifest.json'), `${JSON.stringify({ ...manifest, fingerprint }, null, 2)}\n`);
      fs.rmSync(work, { recursive: true, force: true });
      fs.renameSync(tmp, work);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
    material = tryLoad();
  }
  const caFile = path.join(dir, `${caName}.pem`);
  fs.writeFileSync(caFile, material.caPem);
  return { ...material, caFile };
}

/** A hex SHA-256 of a JSON-able value: the fingerprint of what a simulator's test PKI is made from. */
export function fingerprintOf(value) {
  return crypto.createHash('sha256').update(JSON.stringify(value)).digest('hex');
}

/** True if a certificate (from test-ca.mjs) is valid for at least another day. */
export function validForADay(leaf) {
  return Date.parse(leaf.x509.validTo) >= Date.now() + 86400e3;
}

// ---------------------------------------------------------------------------
// The OCSP responder of a simulator's CA

/**
 * The OCSP URL a simulator's certificates name in authorityInfoAccess:
 * http://127.0.0.1:<port>/. Without a port (0), the one the folder's test
 * PKI (dir/workName) already names, so that a later start reuses it; else a
 * free one. { port, url, fromFolder }.
 */
export async function ocspEndpoint(port, dir, workName) {
  if (!port) {
    try {
      const manifest = JSON.parse(fs.readFileSync(path.join(dir, workName, 'manifest.json'), 'utf8'));
      const m = /^http:\/\/127\.0\.0\.1:(\d+)\/$/.exec(manifest.ocspUrl ?? '');
      if (m) return { port: Number(m[1]), url: manifest.ocspUrl, fromFolder: true };
    } catch { /* no PKI yet */ }
  }
  const p = port || await freeTcpPort();
  return { port: p, url: `http://127.0.0.1:${p}/`, fromFolder: false };
}

/**
 * Runs the OCSP responder (openssl ocsp, test-ca.mjs startOcspResponder) of
 * a simulator's test PKI: ocsp is { caFile, indexFile, signer } from its
 * material, endpoint the one its certificates name (ocspEndpoint). When the
 * folder's port is taken, another simulator of the same folder (same CA,
 * same index) answers there, and this one runs none. Returns { url, port,
 * running(), setRunning(on) (stops it, or starts it again on the same
 * port), stop() }.
 */
export async function runOcspResponder(ocsp, endpoint, say = () => {}) {
  const { port } = endpoint;
  let responder = null;
  try {
    responder = await startOcspResponder({ ...ocsp, port, log: say });
  } catch (e) {
    if (!(endpoint.fromFolder && e.code === 'EADDRINUSE')) throw e;
    say(`OCSP port ${port} is taken: another simulator of this folder answers there`);
  }
  const control = {
    url: endpoint.url, port,
    running: () => responder !== null,
    async setRunning(on) {
      if (on && !responder) responder = await startOcspResponder({ ...ocsp, port, log: say });
      if (!on && responder) {
        const r = responder;
        responder = null;
        await r.stop();
      }
      say(`OCSP responder ${on ? 'running' : 'stopped'}`);
    },
    stop: () => control.setRunning(false),
  };
  return control;
}

// ---------------------------------------------------------------------------
// Command line

/** True if the module at importMetaUrl is the script node was started with. */
export function isMainModule(importMetaUrl) {
  return Boolean(process.argv[1]) && path.resolve(process.argv[1]) === fileURLToPath(importMetaUrl);
}

/**
 * Shifts this process's wall clock by offsetSeconds (negative: behind), as
 * a peer whose clock is wrong: Date.now() and new Date() (no argument) are
 * moved; timers and monotonic clocks are not. Only for a simulator running
 * as its own process (--clock-offset-seconds): it changes the global Date.
 */
export function shiftClock(offsetSeconds) {
  if (!Number.isInteger(offsetSeconds)) throw new Error(`clock offset must be whole seconds, not ${offsetSeconds}`);
  if (offsetSeconds === 0) return;
  const RealDate = globalThis.Date;
  const offsetMs = offsetSeconds * 1000;
  const now = () => RealDate.now() + offsetMs;
  globalThis.Date = new Proxy(RealDate, {
    construct: (target, args, newTarget) => Reflect.construct(target, args.length ? args : [now()], newTarget),
    apply: () => new RealDate(now()).toString(),
    get: (target, prop, receiver) => (prop === 'now' ? now : Reflect.get(target, prop, receiver)),
  });
}

/** The whole number, possibly negative, in values[name] (a --name=N option), or an error. */
export function integerOption(values, name) {
  const v = values[name];
  if (!/^-?\d+$/.test(v)) throw new Error(`--${name} must be a whole number, not ${v}`);
  return Number(v);
}

/** The whole number in values[name] (a --name option), or an error. */
export function wholeNumberOption(values, name) {
  const v = values[name];
  if (!/^\d+$/.test(v)) throw new Error(`--${name} must be a whole number, not ${v}`);
  return Number(v);
}

/**
 * Runs a simulator from the command line: installs SIGTERM/SIGINT handlers
 * first (so that a signal at any time ends the process with 0), starts it
 * with start(), then prints readyLine(sim) and a newline on stdout. Errors:
 * "<label>: message" on stderr and exit 1.
 */
export function runSimulator({ label, start, readyLine }) {
  let sim;
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    try { await sim?.stop(); } finally { process.exit(0); }
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  // SIGUSR2 stops the simulator's OCSP responder, or starts it again (tests
  // of a responder that is down); the simulator then writes <dir>/ocsp.state
  process.on('SIGUSR2', () => {
    if (!sim?.ocsp) return;
    const on = !sim.ocsp.running();
    sim.ocsp.setRunning(on).then(() => fs.writeFileSync(path.join(sim.dir, 'ocsp.state'), on ? 'running\n' : 'stopped\n'));
  });
  (async () => {
    sim = await start();
    if (stopping) return sim.stop();
    process.stdout.write(`${readyLine(sim)}\n`);
  })().catch((e) => {
    process.stderr.write(`${label}: ${e.message}\n`);
    process.exit(1);
  });
}
