// Test PKI for the eID simulators (Mobile-ID, Smart-ID): creates,
// with the `openssl` command line tool, a test CA in a folder and issues
// end-entity certificates for test citizens whose subject looks like the one
// in SK ID Solutions' certificates:
//   C=EE, CN=SURNAME,GIVENNAME,PNOEE-38001085718, SN=SURNAME, GN=GIVENNAME,
//   serialNumber=PNOEE-38001085718
// (the personal code carries the ETSI EN 319 412-1 semantics prefix PNOEE-).
// Also holds the Estonian (and Lithuanian) and Latvian personal code helpers,
// since the citizens' certificates are built around them. Everything here is
// test data.
//
// Usage:
//   const ca = await createTestCA(dir, { name: 'mid-ca', commonName: '...' });
//   const leaf = await issueCertificate(ca, {
//     name: 'alice-auth', subject: citizenSubject({ surname, givenName, personalCode }),
//     keyType: 'ec' | 'rsa', expired: false,
//   });
//   leaf.certFile / leaf.keyFile / leaf.certPem / leaf.certDer / leaf.x509 / leaf.privateKey
import { execFile, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

async function openssl(args, opts = {}) {
  try {
    return await run('openssl', args, { maxBuffer: 1 << 24, ...opts });
  } catch (e) {
    throw new Error(`openssl ${args.join(' ')} failed: ${e.stderr || e.message}`);
  }
}

// ---------------------------------------------------------------------------
// Estonian personal code (isikukood): GYYMMDDSSSC. G gives century and sex
// (1/2: 1800s, 3/4: 1900s, 5/6: 2000s, 7/8: 2100s; odd = male, even = female),
// SSS is a sequence number and C the checksum (weights 1..9,1; if the
// remainder is 10 then weights 3..9,1,2,3; if that is 10 too, 0).

/** The checksum digit for the first 10 digits of an Estonian personal code. */
export function personalCodeChecksum(first10) {
  const d = [...String(first10).slice(0, 10)].map(Number);
  const sum = (w) => d.reduce((acc, x, i) => acc + x * w[i], 0) % 11;
  let c = sum([1, 2, 3, 4, 5, 6, 7, 8, 9, 1]);
  if (c === 10) {
    c = sum([3, 4, 5, 6, 7, 8, 9, 1, 2, 3]);
    if (c === 10) c = 0;
  }
  return c;
}

/** Birth date (YYYY-MM-DD) and sex ('M' | 'F') from a personal code, or null if it is not valid. */
export function personalCodeInfo(code) {
  if (!/^[1-8]\d{10}$/.test(String(code))) return null;
  code = String(code);
  if (personalCodeChecksum(code) !== Number(code[10])) return null;
  const g = Number(code[0]);
  const year = 1800 + 100 * Math.floor((g - 1) / 2) + Number(code.slice(1, 3));
  const month = Number(code.slice(3, 5));
  const day = Number(code.slice(5, 7));
  const date = new Date(Date.UTC(year, month - 1, day));
  if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) return null;
  return { dateOfBirth: date.toISOString().slice(0, 10), sex: g % 2 === 1 ? 'M' : 'F' };
}

/** True if code is a well-formed Estonian personal code with a right checksum and a real date. */
export function isValidPersonalCode(code) {
  return personalCodeInfo(code) !== null;
}

/** Builds a valid personal code from a birth date ('YYYY-MM-DD'), a sex and a sequence number 0..999. */
export function makePersonalCode(dateOfBirth, sex, sequence = 0) {
  const [y, m, d] = dateOfBirth.split('-');
  const century = Math.floor(Number(y) / 100) - 18; // 1800s -> 0, 1900s -> 1, ...
  const g = 2 * century + (sex === 'M' ? 1 : 2);
  const first10 = `${g}${y.slice(2)}${m}${d}${String(sequence).padStart(3, '0')}`;
  return first10 + personalCodeChecksum(first10);
}

// Latvian personal code (personas kods), 11 digits written DDMMYY-CNNNX: C
// gives the century of birth (0: 1800s, 1: 1900s, 2: 2000s); codes issued
// since 2017 start with 32 and carry no birth date. X is a checksum: (1101 -
// sum of the first ten digits weighted 1,6,3,7,9,10,5,8,4,2) mod 11 (never 10).

/** The checksum digit for the first 10 digits of a Latvian personal code (hyphen ignored), or null if none fits. */
export function latvianPersonalCodeChecksum(first10) {
  const d = [...String(first10).replace('-', '').slice(0, 10)].map(Number);
  const w = [1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  const c = (1101 - d.reduce((acc, x, i) => acc + x * w[i], 0)) % 11;
  return c >= 0 && c < 10 ? c : null;
}

/**
 * { dateOfBirth: 'YYYY-MM-DD' or null (codes starting 32), sex: null } from a
 * Latvian personal code 'DDMMYY-NNNNN' (or without the hyphen), or null if it is not valid.
 */
export function latvianPersonalCodeInfo(code) {
  const m = /^(\d{6})-?(\d{5})$/.exec(String(code));
  if (!m) return null;
  const digits = m[1] + m[2];
  if (latvianPersonalCodeChecksum(digits) !== Number(digits[10])) return null;
  if (digits.startsWith('32')) return { dateOfBirth: null, sex: null };
  const century = Number(digits[6]);
  if (century > 2) return null;
  const year = 1800 + 100 * century + Number(digits.slice(4, 6));
  const month = Number(digits.slice(2, 4));
  const day = Number(digits.slice(0, 2));
  const date = new Date(Date.UTC(year, month - 1, day));
  if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) return null;
  return { dateOfBirth: date.toISOString().slice(0, 10), sex: null };
}

/**
 * Birth date and sex from a national personal code of a country: EE and LT
 * (same scheme) via personalCodeInfo, LV via latvianPersonalCodeInfo; null if
 * the code is not valid or the country not known here.
 */
export function nationalIdInfo(country, code) {
  if (country === 'EE' || country === 'LT') return personalCodeInfo(code);
  if (country === 'LV') return latvianPersonalCodeInfo(code);
  return null;
}

/** Age in whole years on a given day (default today, UTC) of someone born on dateOfBirth ('YYYY-MM-DD'). */
export function ageOn(dateOfBirth, on = new Date()) {
  const [y, m, d] = dateOfBirth.split('-').map(Number);
  let age = on.getUTCFullYear() - y;
  if (on.getUTCMonth() + 1 < m || (on.getUTCMonth() + 1 === m && on.getUTCDate() < d)) age--;
  return age;
}

// ---------------------------------------------------------------------------
// Subjects

/**
 * The subject of a citizen's certificate, as SK issues it, as an ordered list
 * of [attribute, value]: C, CN="SURNAME,GIVENNAME,PNOEE-code", SN, GN,
 * serialNumber="PNOEE-code". Names are upper case in SK's certificates.
 */
export function citizenSubject({ country = 'EE', surname, givenName, personalCode, extra = [] }) {
  const sn = surname.toUpperCase();
  const gn = givenName.toUpperCase();
  const id = `PNO${country}-${personalCode}`;
  return [['C', country], ...extra, ['CN', `${sn},${gn},${id}`], ['SN', sn], ['GN', gn], ['serialNumber', id]];
}

/** An ordered [attribute, value] list as openssl's -subj argument. */
function subjArg(subject) {
  const esc = (v) => String(v).replace(/[\\/+]/g, (c) => `\\${c}`);
  return subject.map(([k, v]) => `/${k}=${esc(v)}`).join('');
}

// ---------------------------------------------------------------------------
// Keys, CAs and certificates

/** Generates a private key (PKCS#8 PEM) into file: keyType 'ec' (P-256) or 'rsa' (rsaBits, default 2048). */
export async function generateKey(file, { keyType = 'ec', rsaBits = 2048 } = {}) {
  const args = keyType === 'rsa'
    ? ['genpkey', '-algorithm', 'RSA', '-pkeyopt', `rsa_keygen_bits:${rsaBits}`, '-out', file]
    : ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-pkeyopt', 'ec_param_enc:named_curve', '-out', file];
  if (keyType !== 'rsa' && keyType !== 'ec') throw new Error(`unknown keyType ${keyType}`);
  await openssl(args);
  fs.chmodSync(file, 0o600);
  return file;
}

/** openssl's YYYYMMDDHHMMSSZ form of a Date. */
function asn1Time(date) {
  return date.toISOString().replace(/[-:T]/g, '').replace(/\.\d+Z$/, 'Z');
}

function caConfig(db, keyFile, certFile) {
  return `# openssl ca configuration of a test CA (written by tests/sim/test-ca.mjs)
[ ca ]
default_ca = test_ca

[ test_ca ]
dir            = ${db}
database       = $dir/index.txt
new_certs_dir  = $dir/issued
serial         = $dir/serial
private_key    = ${keyFile}
certificate    = ${certFile}
default_md     = sha256
policy         = policy_any
unique_subject = no
copy_extensions = none
email_in_dn    = no
name_opt       = multiline,-esc_msb,utf8
cert_opt       = ca_default

[ policy_any ]
countryName = optional

[ req ]
distinguished_name = req_dn
string_mask = utf8only
prompt = no

[ req_dn ]
CN = unused

[ v3_ca ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
`;
}

/**
 * Creates a self-signed test CA in dir: <name>.pem (certificate), <name>-key.pem
 * and a <name>.db folder that openssl ca keeps its records in.
 * keyType 'ec' (P-256, default) or 'rsa' (3072 bits). Valid from a day ago for `days`.
 * Returns { name, dir, certFile, keyFile, certPem, x509 } and issues with issueCertificate().
 */
export async function createTestCA(dir, {
  name = 'test-ca', commonName = 'TEST of eidhub CA', organization = 'eidhub test PKI', country = 'EE',
  subject, keyType = 'ec', rsaBits = 3072, days = 3650,
} = {}) {
  fs.mkdirSync(dir, { recursive: true });
  const certFile = path.join(dir, `${name}.pem`);
  const keyFile = path.join(dir, `${name}-key.pem`);
  const db = path.join(dir, `${name}.db`);
  fs.rmSync(db, { recursive: true, force: true });
  fs.mkdirSync(path.join(db, 'issued'), { recursive: true });
  fs.writeFileSync(path.join(db, 'index.txt'), '');
  fs.writeFileSync(path.join(db, 'index.txt.attr'), 'unique_subject = no\n');
  // A random positive 16-byte serial to start from, as real CAs use.
  fs.writeFileSync(path.join(db, 'serial'), `${(crypto.randomBytes(16)[0] & 0x3f).toString(16).padStart(2, '0')}${crypto.randomBytes(15).toString('hex')}\n`);
  const config = path.join(db, 'openssl.cnf');
  fs.writeFileSync(config, caConfig(db, keyFile, certFile));

  await generateKey(keyFile, { keyType, rsaBits });
  subject ??= [['C', country], ['O', organization], ['CN', commonName]];
  const csr = path.join(db, 'ca.csr');
  await openssl(['req', '-new', '-config', config, '-utf8', '-key', keyFile, '-subj', subjArg(subject), '-out', csr]);
  const now = Date.now();
  await openssl(['ca', '-batch', '-config', config, '-selfsign', '-keyfile', keyFile, '-in', csr, '-out', certFile,
    '-utf8', '-preserveDN', '-notext', '-extensions', 'v3_ca',
    '-startdate', asn1Time(new Date(now - 86400e3)), '-enddate', asn1Time(new Date(now + days * 86400e3))]);
  fs.writeFileSync(certFile, pemOnly(fs.readFileSync(certFile, 'utf8')));
  const certPem = fs.readFileSync(certFile, 'utf8');
  const ca = { name, dir, db, config, certFile, keyFile, certPem, x509: new crypto.X509Certificate(certPem), queue: Promise.resolve() };
  return ca;
}

/** Loads a CA created earlier by createTestCA (same dir and name) to issue more certificates. */
export function loadTestCA(dir, name = 'test-ca') {
  const certFile = path.join(dir, `${name}.pem`);
  const db = path.join(dir, `${name}.db`);
  const certPem = fs.readFileSync(certFile, 'utf8');
  return {
    name, dir, db, config: path.join(db, 'openssl.cnf'), certFile, keyFile: path.join(dir, `${name}-key.pem`),
    certPem, x509: new crypto.X509Certificate(certPem), queue: Promise.resolve(),
  };
}

function pemOnly(text) {
  const m = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/);
  if (!m) throw new Error('no certificate in openssl output');
  return m[0].endsWith('\n') ? m[0] : `${m[0]}\n`;
}

/**
 * Issues an end-entity certificate from ca into ca.dir:
 *   name          file name stem: <name>.pem and <name>-key.pem
 *   subject       ordered [attribute, value] list, e.g. from citizenSubject()
 *   keyType       'rsa' (rsaBits, default 2048) or 'ec' (P-256); ignored if keyFile is given
 *   keyFile       an existing private key to certify instead of a new one
 *   keyUsage      openssl keyUsage names, default ['digitalSignature'] (critical)
 *   extKeyUsage   e.g. ['clientAuth']; none by default
 *   expired       true: valid from 2 years ago until yesterday
 *   notBefore, notAfter  explicit validity (Dates); default from an hour ago for `days` (730)
 *   policies      certificatePolicies OIDs (optional)
 *   ocspUrl       the OCSP responder in authorityInfoAccess (optional), as SK's
 *                 certificates name theirs (http://aia.sk.ee/...)
 *   ocspNoCheck   true: the id-pkix-ocsp-nocheck extension (an OCSP signing certificate)
 * Returns { certFile, keyFile, certPem, certDer (base64 DER), x509, privateKey (KeyObject), keyType }.
 */
export async function issueCertificate(ca, {
  name, subject, keyType = 'ec', rsaBits = 2048, keyFile, keyUsage = ['digitalSignature'], extKeyUsage = [],
  expired = false, notBefore, notAfter, days = 730, policies = [], ocspUrl, ocspNoCheck = false,
}) {
  if (!name || !subject) throw new Error('issueCertificate needs a name and a subject');
  const certFile = path.join(ca.dir, `${name}.pem`);
  if (!keyFile) {
    keyFile = path.join(ca.dir, `${name}-key.pem`);
    await generateKey(keyFile, { keyType, rsaBits });
  }
  const now = Date.now();
  if (expired) {
    notBefore ??= new Date(now - 2 * 365 * 86400e3);
    notAfter ??= new Date(now - 86400e3);
  }
  notBefore ??= new Date(now - 3600e3);
  notAfter ??= new Date(notBefore.getTime() + days * 86400e3);

  const ext = [
    '[ leaf ]',
    'basicConstraints = critical, CA:FALSE',
    `keyUsage = critical, ${keyUsage.join(', ')}`,
    'subjectKeyIdentifier = hash',
    'authorityKeyIdentifier = keyid:always',
  ];
  if (extKeyUsage.length) ext.push(`extendedKeyUsage = ${extKeyUsage.join(', ')}`);
  if (policies.length) ext.push(`certificatePolicies = ${policies.join(', ')}`);
  if (ocspUrl) ext.push(`authorityInfoAccess = OCSP;URI:${ocspUrl}`);
  if (ocspNoCheck) ext.push('noCheck = ignored');
  const extFile = path.join(ca.db, `${name}.ext`);
  const csr = path.join(ca.db, `${name}.csr`);
  fs.writeFileSync(extFile, `${ext.join('\n')}\n`);
  await openssl(['req', '-new', '-config', ca.config, '-utf8', '-key', keyFile, '-subj', subjArg(subject), '-out', csr]);

  // openssl ca keeps a database: one issuance at a time per CA.
  const issue = ca.queue.then(() => openssl(['ca', '-batch', '-config', ca.config, '-in', csr, '-out', certFile,
    '-utf8', '-preserveDN', '-notext', '-extfile', extFile, '-extensions', 'leaf',
    '-startdate', asn1Time(notBefore), '-enddate', asn1Time(notAfter)]));
  ca.queue = issue.catch(() => {});
  await issue;
  fs.writeFileSync(certFile, pemOnly(fs.readFileSync(certFile, 'utf8')));
  return loadCertificate(certFile, keyFile);
}

/** Reads a certificate and its key written by issueCertificate. */
export function loadCertificate(certFile, keyFile) {
  const certPem = fs.readFileSync(certFile, 'utf8');
  const x509 = new crypto.X509Certificate(certPem);
  const privateKey = crypto.createPrivateKey(fs.readFileSync(keyFile));
  return {
    certFile, keyFile, certPem, x509, privateKey,
    certDer: x509.raw.toString('base64'),
    keyType: privateKey.asymmetricKeyType, // 'rsa' | 'ec'
  };
}

// ---------------------------------------------------------------------------
// Revocation and the OCSP responder (RFC 6960)

/**
 * Revokes a certificate issued by ca (its file) in the CA's index (reason
 * keyCompromise unless told), as SK does when a citizen's device is lost:
 * the OCSP responder answers "revoked" from then on.
 */
export async function revokeCertificate(ca, certFile, reason = 'keyCompromise') {
  const revoke = ca.queue.then(() => openssl(['ca', '-batch', '-config', ca.config, '-revoke', certFile, '-crl_reason', reason]));
  ca.queue = revoke.catch(() => {});
  await revoke;
}

/**
 * Issues the delegated OCSP signing certificate of ca (extendedKeyUsage
 * OCSPSigning, id-pkix-ocsp-nocheck, EC P-256), as SK's "... OCSP RESPONDER"
 * certificates: name is the file stem.
 */
export function issueOcspSigner(ca, { name = 'ocsp-responder', commonName = `${ca.x509.subject.match(/CN=([^\n]+)/)?.[1] ?? 'TEST'} OCSP RESPONDER` } = {}) {
  return issueCertificate(ca, {
    name, subject: [['C', 'EE'], ['O', 'eidhub test PKI'], ['CN', commonName]], keyType: 'ec',
    keyUsage: ['digitalSignature'], extKeyUsage: ['OCSPSigning'], ocspNoCheck: true,
  });
}

/** A free TCP port on 127.0.0.1 (the OS's pick; free when asked, not reserved). */
export function freeTcpPort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Resolves when a line of proc's stderr matches re; rejects if proc exits first or after timeoutMs. */
function waitForStderr(proc, re, timeoutMs) {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => done(new Error(`openssl ocsp did not start in ${timeoutMs} ms: ${text}`)), timeoutMs);
    const onData = (d) => { text += d; if (re.test(text)) done(); };
    const onExit = (code, signal) => done(new Error(`openssl ocsp exited with ${code ?? signal}: ${text}`));
    function done(err) {
      clearTimeout(timer);
      proc.stderr.off('data', onData);
      proc.off('exit', onExit);
      if (err) reject(err); else resolve();
    }
    proc.stderr.on('data', onData);
    proc.once('exit', onExit);
  });
}

/** The whole body of a request or response stream (at most limit bytes). */
function readAll(stream, limit = 64 * 1024) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    stream.on('data', (d) => {
      size += d.length;
      if (size > limit) { reject(new Error('too large')); stream.destroy(); } else chunks.push(d);
    });
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
  });
}

/**
 * Runs Debian's `openssl ocsp` as the OCSP responder of a test CA: it reads
 * the CA's index (indexFile: openssl ca's index.txt, so revoked certificates
 * answer "revoked" and certificates it never issued "unknown"), signs with
 * the delegated signer (signer.certFile / keyFile, from issueOcspSigner),
 * copies the request's nonce and sets nextUpdate 15 minutes on.
 *
 * It answers on http://127.0.0.1:<port>/ (POST application/ocsp-request, or
 * GET with the request in the path, RFC 6960 appendix A) through a small
 * relay that hands openssl, on a port of its own, only whole requests, one
 * connection each: OpenSSL 3.0's responder serves one request at a time
 * (about a millisecond with an EC key), stops serving for good after a
 * connection that closes without a request, holds a keep-alive client's
 * connection while others wait, and its `-multi N` children spin at full CPU
 * after such a connection (and the parent ignores SIGTERM). openssl binds
 * its own port on every interface: test machines only.
 * Returns { url, port, pid, stop() }.
 */
export async function startOcspResponder({ caFile, indexFile, signer, port, host = '127.0.0.1', log = () => {} }) {
  const inner = await freeTcpPort();
  const args = ['ocsp', '-index', indexFile, '-CA', caFile, '-rsigner', signer.certFile, '-rkey', signer.keyFile,
    '-rmd', 'sha256', '-nmin', '15', '-port', String(inner), '-timeout', '5', '-ignore_err'];
  const proc = spawn('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  try {
    await waitForStderr(proc, /waiting for OCSP client connections/, 10000);
  } catch (e) {
    proc.kill('SIGKILL');
    throw e;
  }
  proc.stderr.on('data', (d) => String(d).split('\n').filter((l) => l && !/waiting for OCSP/.test(l))
    .forEach((line) => log(`openssl ocsp: ${line}`)));

  const relay = http.createServer(async (req, res) => {
    const fail = (status) => { if (!res.headersSent) { res.writeHead(status, { 'content-length': 0 }); res.end(); } };
    let body;
    try { body = await readAll(req); } catch { return fail(413); }
    if (req.method !== 'POST' && req.method !== 'GET') return fail(405);
    const headers = { connection: 'close', 'content-length': body.length };
    if (req.method === 'POST') headers['content-type'] = req.headers['content-type'] ?? 'application/ocsp-request';
    const up = http.request({ host: '127.0.0.1', port: inner, method: req.method, path: req.url, agent: false, headers, timeout: 10000 },
      async (ur) => {
        try {
          const answer = await readAll(ur, 1 << 20);
          res.writeHead(ur.statusCode, { 'content-type': ur.headers['content-type'] ?? 'application/ocsp-response', 'content-length': answer.length });
          res.end(answer);
        } catch { fail(502); }
      });
    up.on('timeout', () => up.destroy(new Error('timeout')));
    up.on('error', (e) => { log(`OCSP relay: ${e.message}`); fail(502); });
    up.end(body);
  });
  try {
    await new Promise((resolve, reject) => {
      relay.once('error', reject);
      relay.listen(port, host, () => { relay.off('error', reject); resolve(); });
    });
  } catch (e) {
    proc.kill('SIGKILL');
    throw e;
  }
  let stopping;
  return {
    url: `http://${host}:${relay.address().port}/`, port: relay.address().port, pid: proc.pid,
    stop() {
      stopping ??= Promise.all([
        new Promise((resolve) => { relay.close(() => resolve()); relay.closeAllConnections(); }),
        new Promise((resolve) => {
          if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
          proc.once('exit', () => resolve());
          proc.kill('SIGTERM');
        }),
      ]);
      return stopping;
    },
  };
}
