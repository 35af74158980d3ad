// Mobile-ID simulator: speaks SK ID Solutions' MID REST API (the one behind
// https://tsp.demo.sk.ee/mid-api) on plain HTTP on 127.0.0.1, so that eidhub
// is pointed at SK's demo service instead by configuration alone (base URL,
// relyingPartyUUID/Name, trusted CA and the TLS pin).
//
//   POST /mid-api/authentication                          -> { sessionID }
//   GET  /mid-api/authentication/session/:id?timeoutMs=N  -> long poll: RUNNING | COMPLETE
//   POST /mid-api/certificate                             -> { result, cert }
//   GET  /mid-api/version                                 -> "Version: ..." (text)
//
// The outcome of a session is fixed by the (phoneNumber, nationalIdentityNumber)
// pair, see CITIZENS below; the standard outcomes use SK's published DEMO test
// numbers, so the same test data gives the same result against SK's demo.
// Citizens' certificates come from a test CA made with openssl (test-ca.mjs) in
// the --dir folder: <dir>/mid-ca.pem is the CA eidhub must trust. The CA's
// OCSP responder (`openssl ocsp`, RFC 6960, a delegated signing certificate)
// runs beside it on --ocsp-port; every certificate names it in its
// authorityInfoAccess, as SK's name http://aia.sk.ee/... .
//
// Run:  node tests/sim/mobile-id.mjs --port P --dir D [--delay-ms N] [--rp-uuid U] [--rp-name N]
//       [--ca-key-type ec|rsa] [--session-ttl-ms N] [--ocsp-port P] [--quiet]
// or in-process: const sim = await startMobileIdSimulator({ dir, delayMs: 0 }); ... await sim.stop();
// See tests/sim/README.md. All names and numbers here are test data.
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  HASH_TYPES, PEOPLE, UUID_RE, closeServer, createSessionStore, digestInfo, fingerprintOf, hashProblem, isMainModule,
  longPollTimeout, ocspEndpoint, otherHash, prepareMaterial, readJsonObject, requiredStrings, rsaSignHash, runOcspResponder,
  runSimulator, send, startServer, validForADay, wholeNumberOption,
} from './sim-common.mjs';
import { p256Signer } from './ecdsa-p256.mjs';
import {
  citizenSubject, createTestCA, issueCertificate, issueOcspSigner, loadCertificate, personalCodeInfo, revokeCertificate,
} from './test-ca.mjs';

export { HASH_TYPES, digestInfo };

export const BASE_PATH = '/mid-api';
/** SK's public DEMO relying party; the simulator accepts it unless told otherwise. */
export const DEMO_RP_UUID = '00000000-0000-0000-0000-000000000000';
export const DEMO_RP_NAME = 'DEMO';
/** How long the "phone" takes to answer, unless --delay-ms / MID_SIM_DELAY_MS say otherwise. */
export const DEFAULT_DELAY_MS = 2000;
/** Sessions vanish (404) this long after they were started, as in the real service. */
export const SESSION_TTL_MS = 5 * 60 * 1000;
/** Long poll bounds: the real service silently clamps timeoutMs into these; the default is used without it. */
export const LONG_POLL = Object.freeze({ minMs: 1000, maxMs: 120000, defaultMs: 10000 });

export const LANGUAGES = Object.freeze(['EST', 'ENG', 'RUS', 'LIT']);
export const DISPLAY_TEXT_FORMATS = Object.freeze({ 'GSM-7': 100, 'UCS-2': 50 }); // max characters
/** Every session end result of the API (all with HTTP 200, state COMPLETE). */
export const RESULTS = Object.freeze(['OK', 'TIMEOUT', 'NOT_MID_CLIENT', 'USER_CANCELLED', 'SIGNATURE_HASH_MISMATCH',
  'PHONE_ABSENT', 'DELIVERY_ERROR', 'SIM_ERROR']);

// ---------------------------------------------------------------------------
// Test citizens. `outcome` is unique and is what tests pick a citizen by;
// `result` is what the session returns; `authenticates` says whether a
// correct relying party lets this citizen in (it must reject the others even
// where result is OK). `sk: true` rows are SK's published DEMO numbers and
// answer alike on https://tsp.demo.sk.ee/mid-api (names there differ).

function citizen(fields) {
  const info = personalCodeInfo(fields.personalCode);
  if (!info) throw new Error(`invalid personal code ${fields.personalCode}`);
  return Object.freeze({
    result: fields.outcome, keyType: 'ec', certificate: 'valid', signature: 'valid', authenticates: false, sk: false,
    ...fields, dateOfBirth: info.dateOfBirth, sex: info.sex,
  });
}

export const CITIZENS = Object.freeze([
  citizen({ outcome: 'OK', phone: '+37200000766', ...PEOPLE.maryAnn, result: 'OK', keyType: 'rsa', authenticates: true,
    sk: true, description: 'adult woman, RSA 2048 key' }),
  citizen({ outcome: 'OK_EC', phone: '+37269000766', personalCode: '38001085718', givenName: 'Jaan', surname: 'Männik',
    result: 'OK', keyType: 'ec', authenticates: true, description: 'adult man, EC P-256 key (raw r||s signature)' }),
  citizen({ outcome: 'OK_UNDER_18', phone: '+37269930366', personalCode: '51307149560', givenName: 'Oskar', surname: 'Tamm',
    result: 'OK', keyType: 'rsa', authenticates: true, sk: true, description: 'boy born 2013, RSA 2048 key' }),
  citizen({ outcome: 'NOT_MID_CLIENT', phone: '+37200000266', ...PEOPLE.liisa, certificate: null, sk: true,
    description: 'no Mobile-ID certificates at all' }),
  citizen({ outcome: 'DELIVERY_ERROR', phone: '+37207110066', personalCode: '60001019947', givenName: 'Kadri',
    surname: 'Saar', sk: true, description: 'the SMS could not be sent' }),
  citizen({ outcome: 'USER_CANCELLED', phone: '+37201100266', personalCode: '60001019950', givenName: 'Mari',
    surname: 'Mägi', sk: true, description: 'the user pressed Cancel' }),
  citizen({ outcome: 'SIGNATURE_HASH_MISMATCH', phone: '+37200000666', personalCode: '60001019961', givenName: 'Piret',
    surname: 'Lepp', sk: true, description: 'SIM configuration differs from the service\'s' }),
  citizen({ outcome: 'SIM_ERROR', phone: '+37201200266', personalCode: '60001019972', givenName: 'Tiiu', surname: 'Kivi',
    sk: true, description: 'invalid response from the SIM' }),
  citizen({ outcome: 'PHONE_ABSENT', phone: '+37213100266', personalCode: '60001019983', givenName: 'Evelin',
    surname: 'Ilves', sk: true, description: 'phone out of coverage' }),
  citizen({ outcome: 'TIMEOUT', phone: '+37266000266', personalCode: '50001018908', givenName: 'Markus', surname: 'Roose',
    sk: true, description: 'the user never answers' }),
  citizen({ outcome: 'WRONG_SIGNATURE', phone: '+37269000001', ...PEOPLE.andres, result: 'OK', keyType: 'rsa',
    signature: 'wrong-hash', description: 'result OK, but the signature is over a different hash' }),
  citizen({ outcome: 'EXPIRED_CERTIFICATE', phone: '+37269000002', ...PEOPLE.helgi, result: 'OK', certificate: 'expired',
    description: 'result OK, certificate expired yesterday' }),
  citizen({ outcome: 'OTHER_PERSON_CERTIFICATE', phone: '+37269000003', ...PEOPLE.katrin, result: 'OK', keyType: 'rsa',
    certificate: 'other-person', certPerson: PEOPLE.peeter,
    description: 'result OK, valid signature, but the certificate is her twin brother\'s' }),
  citizen({ outcome: 'UNTRUSTED_CA', phone: '+37269000004', ...PEOPLE.laura, result: 'OK', certificate: 'untrusted-ca',
    description: 'result OK, certificate from a look-alike CA (same name, other key)' }),
  citizen({ outcome: 'REVOKED_CERTIFICATE', phone: '+37269000005', ...PEOPLE.rein, result: 'OK', certificate: 'revoked',
    description: 'result OK, valid signature and certificate, but the certificate is revoked (OCSP says so)' }),
]);

/** The citizen with that outcome (see CITIZENS); throws if there is none. */
export function citizenByOutcome(outcome) {
  const c = CITIZENS.find((x) => x.outcome === outcome);
  if (!c) throw new Error(`no test citizen with outcome ${outcome}`);
  return c;
}

/** The 4-digit verification code shown to the user: 6 first and 7 last bits of the hash. */
export function verificationCode(hash) {
  const h = Buffer.from(hash);
  return String(((h[0] & 0xfc) << 5) | (h[h.length - 1] & 0x7f)).padStart(4, '0');
}

// ---------------------------------------------------------------------------
// Certificates (made once per folder, reused while still fit)

const MATERIAL_VERSION = 3;

async function makeMaterial(work, caKeyType, ocspUrl) {
  const caOpts = { commonName: 'TEST of eidhub MID CA', organization: 'eidhub test PKI', keyType: caKeyType };
  // Same subject as the trusted CA, other key: only a signature check tells them apart.
  const [ca, untrusted] = await Promise.all([
    createTestCA(work, { name: 'mid-ca', ...caOpts }),
    createTestCA(path.join(work, 'untrusted'), { name: 'mid-ca', ...caOpts }),
  ]);
  const manifest = { version: MATERIAL_VERSION, citizens: {} };
  await Promise.all(CITIZENS.filter((c) => c.certificate).map(async (c) => {
    const person = c.certPerson ?? c;
    const subject = citizenSubject({ surname: person.surname, givenName: person.givenName, personalCode: person.personalCode });
    const issuer = c.certificate === 'untrusted-ca' ? untrusted : ca;
    const expired = c.certificate === 'expired';
    const stem = `citizen-${c.personalCode}`;
    const auth = await issueCertificate(issuer, {
      name: `${stem}-auth`, subject, keyType: c.keyType, expired, keyUsage: ['digitalSignature'], extKeyUsage: ['clientAuth'],
      ocspUrl,
    });
    // The signing certificate (what POST /certificate returns); same key, for speed.
    const sign = await issueCertificate(issuer, {
      name: `${stem}-sign`, subject, keyFile: auth.keyFile, expired, keyUsage: ['nonRepudiation'], ocspUrl,
    });
    if (c.certificate === 'revoked') {
      await revokeCertificate(issuer, auth.certFile);
      await revokeCertificate(issuer, sign.certFile);
    }
    manifest.citizens[c.outcome] = {
      authCert: path.relative(work, auth.certFile), signCert: path.relative(work, sign.certFile),
      key: path.relative(work, auth.keyFile),
    };
  }));
  const signer = await issueOcspSigner(ca, { commonName: 'TEST of eidhub MID CA OCSP RESPONDER' });
  manifest.ocspSigner = { cert: path.relative(work, signer.certFile), key: path.relative(work, signer.keyFile) };
  manifest.ocspUrl = ocspUrl;
  return manifest;
}

function loadMaterial(work, manifest) {
  const byOutcome = new Map();
  for (const c of CITIZENS.filter((x) => x.certificate)) {
    const m = manifest.citizens[c.outcome];
    const auth = loadCertificate(path.join(work, m.authCert), path.join(work, m.key));
    const sign = loadCertificate(path.join(work, m.signCert), path.join(work, m.key));
    if (c.certificate !== 'expired' && !validForADay(auth)) throw new Error('certificate expires');
    byOutcome.set(c.outcome, { auth, sign });
  }
  const signer = loadCertificate(path.join(work, manifest.ocspSigner.cert), path.join(work, manifest.ocspSigner.key));
  if (!validForADay(signer)) throw new Error('OCSP signer expires');
  const ocsp = { caFile: path.join(work, 'mid-ca.pem'), indexFile: path.join(work, 'mid-ca.db', 'index.txt'), signer };
  return { byOutcome, ocsp };
}

/**
 * Certificates for the citizens in dir/mid-sim (reused when present and still
 * valid, and naming the same OCSP URL), and the trusted CA copied to
 * dir/mid-ca.pem.
 */
function prepareMidMaterial(dir, caKeyType, ocspUrl) {
  return prepareMaterial(dir, {
    workName: 'mid-sim', caName: 'mid-ca',
    fingerprint: fingerprintOf({ MATERIAL_VERSION, caKeyType, CITIZENS, ocspUrl }),
    make: (work) => makeMaterial(work, caKeyType, ocspUrl),
    load: loadMaterial,
  });
}

// ---------------------------------------------------------------------------
// Signing as the SIM does: RSA PKCS#1 v1.5 over DigestInfo||hash, or raw ECDSA
// over the hash as r||s.

function opensslRawSign(keyFile, hash) {
  return new Promise((resolve, reject) => {
    const p = spawn('openssl', ['pkeyutl', '-sign', '-inkey', keyFile], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out = [];
    const err = [];
    p.stdout.on('data', (d) => out.push(d));
    p.stderr.on('data', (d) => err.push(d));
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve(Buffer.concat(out))
      : reject(new Error(`openssl pkeyutl failed: ${Buffer.concat(err)}`))));
    p.stdin.end(hash);
  });
}

/** A DER ECDSA-Sig-Value (SEQUENCE { r INTEGER, s INTEGER }) as the fixed-size r||s form. */
export function derToRawEcdsa(der, size) {
  let i = 0;
  const len = () => {
    let n = der[i++];
    if (n & 0x80) {
      let k = n & 0x7f;
      n = 0;
      while (k--) n = (n << 8) | der[i++];
    }
    return n;
  };
  if (der[i++] !== 0x30) throw new Error('not a DER sequence');
  len();
  const ints = [];
  for (let k = 0; k < 2; k++) {
    if (der[i++] !== 0x02) throw new Error('not a DER integer');
    const n = len();
    let v = der.subarray(i, i + n);
    i += n;
    while (v.length > size && v[0] === 0) v = v.subarray(1);
    ints.push(Buffer.concat([Buffer.alloc(size - v.length), v]));
  }
  return Buffer.concat(ints);
}

const CURVE_BYTES = { prime256v1: 32, secp384r1: 48, secp521r1: 66 };

const p256Signers = new WeakMap(); // leaf -> in-process signer, or null (then openssl)

async function signHash(leaf, hashType, hash) {
  if (leaf.keyType === 'rsa') return rsaSignHash(leaf.privateKey, hashType, hash);
  if (!p256Signers.has(leaf)) p256Signers.set(leaf, p256Signer(leaf.privateKey));
  const inProcess = p256Signers.get(leaf);
  if (inProcess) return inProcess(hash);
  const size = CURVE_BYTES[leaf.privateKey.asymmetricKeyDetails.namedCurve];
  return derToRawEcdsa(await opensslRawSign(leaf.keyFile, hash), size);
}

/** The COMPLETE body (less time/traceId) that a session of citizen c ends with. */
async function sessionOutcome(c, leaves, hashType, hash) {
  if (!c) return { state: 'COMPLETE', result: 'NOT_MID_CLIENT' };
  if (c.result !== 'OK') return { state: 'COMPLETE', result: c.result };
  const { auth } = leaves;
  const signed = c.signature === 'wrong-hash' ? otherHash(hashType, hash) : hash;
  const value = await signHash(auth, hashType, signed);
  return {
    state: 'COMPLETE',
    result: 'OK',
    signature: { value: value.toString('base64'), algorithm: `${hashType}With${auth.keyType === 'rsa' ? 'RSA' : 'EC'}Encryption` },
    cert: auth.certDer,
  };
}

// ---------------------------------------------------------------------------
// HTTP

const now = () => new Date().toISOString().slice(0, 19); // "2019-07-23T11:32:01", as the API writes it
const traceId = () => crypto.randomBytes(8).toString('hex');

function sendJson(res, status, body) {
  send(res, status, { ...body, time: now(), traceId: traceId() });
}

/** MID's error body: {error, time, traceId}. */
function sendError(res, status, error, headers) {
  send(res, status, { error, time: now(), traceId: traceId() }, headers);
}

/** The first problem with the parameters common to /authentication and /certificate, or null. */
function checkCommon(b) {
  const missing = requiredStrings(b, ['relyingPartyUUID', 'relyingPartyName', 'phoneNumber', 'nationalIdentityNumber']);
  if (missing) return missing;
  if (!UUID_RE.test(b.relyingPartyUUID)) return 'relyingPartyUUID must be a UUID in the 8-4-4-4-12 form';
  if (b.relyingPartyName.length < 1 || b.relyingPartyName.length > 100) return 'relyingPartyName must be 1 to 100 characters';
  if (!/^\+\d{7,15}$/.test(b.phoneNumber)) return 'phoneNumber must be + and 7 to 15 digits (E.164)';
  if (!/^\d{11}$/.test(b.nationalIdentityNumber)) return 'nationalIdentityNumber must be 11 digits';
  return null;
}

/** The first problem with an authentication request body, or null. */
function checkAuthentication(b) {
  const common = checkCommon(b);
  if (common) return common;
  const missing = requiredStrings(b, ['hash', 'hashType', 'language']);
  if (missing) return missing;
  const badHash = hashProblem(b);
  if (badHash) return badHash;
  if (!LANGUAGES.includes(b.language)) return `language must be one of ${LANGUAGES.join(', ')}`;
  const format = b.displayTextFormat ?? 'GSM-7';
  if (typeof format !== 'string' || !Object.hasOwn(DISPLAY_TEXT_FORMATS, format)) {
    return `displayTextFormat must be one of ${Object.keys(DISPLAY_TEXT_FORMATS).join(', ')}`;
  }
  if (b.displayText !== undefined && b.displayText !== null) {
    if (typeof b.displayText !== 'string') return 'displayText must be a string';
    if ([...b.displayText].length > DISPLAY_TEXT_FORMATS[format]) {
      return `displayText must be at most ${DISPLAY_TEXT_FORMATS[format]} characters with displayTextFormat ${format}`;
    }
  }
  return null;
}

/**
 * Starts the simulator. Options:
 *   port (0 = any free one), host ('127.0.0.1'), dir (certificates; default a new temporary folder),
 *   delayMs (DEFAULT_DELAY_MS), rpUUID / rpName (DEMO_RP_UUID / DEMO_RP_NAME),
 *   caKeyType ('ec' P-256 or 'rsa' 3072), sessionTtlMs (SESSION_TTL_MS), log (function(line) or false),
 *   ocspPort (the CA's OCSP responder, named in every certificate's authorityInfoAccess; 0 = any free one).
 * Returns { url, port, caFile, dir, citizens, ocsp: { url, port, running(), setRunning(on) }, setDelay(ms), stop() }.
 */
export async function startMobileIdSimulator({
  port = 0, host = '127.0.0.1', dir, delayMs = DEFAULT_DELAY_MS, rpUUID = DEMO_RP_UUID, rpName = DEMO_RP_NAME,
  caKeyType = 'ec', sessionTtlMs = SESSION_TTL_MS, log = false, ocspPort = 0,
} = {}) {
  dir ??= fs.mkdtempSync(path.join(os.tmpdir(), 'eidhub-mid-sim-'));
  const say = typeof log === 'function' ? log : () => {};
  const endpoint = await ocspEndpoint(ocspPort, dir, 'mid-sim');
  const material = await prepareMidMaterial(dir, caKeyType, endpoint.url);
  const ocsp = await runOcspResponder(material.ocsp, endpoint, say);
  const sessions = createSessionStore({ ttlMs: sessionTtlMs, ttlFrom: 'start', say });

  function findCitizen(phone, code) {
    return CITIZENS.find((c) => c.phone === phone && c.personalCode === code) ?? null;
  }

  function authorized(b) {
    return b.relyingPartyUUID === rpUUID && b.relyingPartyName.toLowerCase() === rpName.toLowerCase();
  }

  async function startAuthentication(req, res) {
    const b = await readJsonObject(req, res, sendError);
    if (!b) return;
    const problem = checkAuthentication(b);
    if (problem) return sendError(res, 400, problem);
    if (!authorized(b)) return sendError(res, 401, 'Failed to authorize user');

    const c = findCitizen(b.phoneNumber, b.nationalIdentityNumber);
    const hash = Buffer.from(b.hash, 'base64');
    const s = sessions.start({
      delayMs,
      outcome: sessionOutcome(c, c && material.byOutcome.get(c.outcome), b.hashType, hash),
    });
    say(`authentication ${s.id}: ${b.phoneNumber} ${b.nationalIdentityNumber} (${c ? c.outcome : 'unknown: NOT_MID_CLIENT'}),`
      + ` ${b.hashType}, verification code ${verificationCode(hash)}, language ${b.language}`
      + `${b.displayText ? `, displayText "${b.displayText}"` : ''}`);
    send(res, 200, { sessionID: s.id });
  }

  function respondState(res, s) {
    if (s.failed) return sendError(res, 500, 'Internal error');
    if (s.complete) return sendJson(res, 200, s.complete);
    return sendJson(res, 200, { state: 'RUNNING' });
  }

  function pollSession(req, res, id, query) {
    if (!id) return sendError(res, 400, 'Required sessionId is missing');
    const s = sessions.get(id);
    if (!s) return sendError(res, 404, 'SessionID not found');
    const timeout = longPollTimeout(query.get('timeoutMs'), LONG_POLL);
    if (Number.isNaN(timeout)) return sendError(res, 400, 'timeoutMs must be a whole number of milliseconds');
    sessions.wait(res, s, timeout, respondState);
  }

  async function certificate(req, res) {
    const b = await readJsonObject(req, res, sendError);
    if (!b) return;
    const problem = checkCommon(b);
    if (problem) return sendError(res, 400, problem);
    if (!authorized(b)) return sendError(res, 401, 'Failed to authorize user');
    const c = findCitizen(b.phoneNumber, b.nationalIdentityNumber);
    const leaves = c && material.byOutcome.get(c.outcome);
    let result = 'NOT_FOUND';
    if (leaves) result = ['expired', 'revoked'].includes(c.certificate) ? 'NOT_ACTIVE' : 'OK';
    say(`certificate: ${b.phoneNumber} ${b.nationalIdentityNumber}: ${result}`);
    sendJson(res, 200, result === 'OK' ? { result, cert: leaves.sign.certDer } : { result });
  }

  const routes = [
    { re: /^\/authentication$/, methods: ['POST'], handle: (req, res) => startAuthentication(req, res) },
    { re: /^\/authentication\/session(?:\/([^/]*))?$/, methods: ['GET'], handle: (req, res, m, q) => pollSession(req, res, m[1] ? decodeURIComponent(m[1]) : '', q) },
    { re: /^\/certificate$/, methods: ['POST'], handle: (req, res) => certificate(req, res) },
    { re: /^\/version$/, methods: ['GET'], handle: (req, res) => send(res, 200, 'Version: 5.1.1-eidhub-simulator. Built: 22.11.2026 00:00') },
  ];
  let server;
  try {
    server = await startServer({ host, port, basePath: BASE_PATH, routes, sendError, say });
  } catch (e) {
    await ocsp.stop();
    throw e;
  }
  const actualPort = server.address().port;

  let stopping;
  return {
    url: `http://${host}:${actualPort}${BASE_PATH}`,
    port: actualPort,
    caFile: material.caFile,
    dir,
    citizens: CITIZENS,
    ocsp,
    setDelay(ms) { delayMs = ms; },
    stop() {
      stopping ??= (sessions.stop(), Promise.all([closeServer(server), ocsp.stop()]));
      return stopping;
    },
  };
}

// ---------------------------------------------------------------------------
// Command line

function main() {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: process.env.MID_SIM_PORT ?? '0' },
      dir: { type: 'string', default: process.env.MID_SIM_DIR },
      'delay-ms': { type: 'string', default: process.env.MID_SIM_DELAY_MS ?? String(DEFAULT_DELAY_MS) },
      'rp-uuid': { type: 'string', default: process.env.MID_SIM_RP_UUID ?? DEMO_RP_UUID },
      'rp-name': { type: 'string', default: process.env.MID_SIM_RP_NAME ?? DEMO_RP_NAME },
      'ca-key-type': { type: 'string', default: 'ec' },
      'session-ttl-ms': { type: 'string', default: String(SESSION_TTL_MS) },
      'ocsp-port': { type: 'string', default: process.env.MID_SIM_OCSP_PORT ?? '0' },
      quiet: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log('usage: node tests/sim/mobile-id.mjs --port P --dir D [--delay-ms N] [--rp-uuid U] [--rp-name N]'
      + ' [--ca-key-type ec|rsa] [--session-ttl-ms N] [--ocsp-port P] [--quiet]\n'
      + 'Env: MID_SIM_PORT, MID_SIM_DIR, MID_SIM_DELAY_MS, MID_SIM_RP_UUID, MID_SIM_RP_NAME, MID_SIM_OCSP_PORT.'
      + ' SIGUSR2 stops the OCSP responder or starts it again. See tests/sim/README.md.');
    return;
  }
  const int = (name) => wholeNumberOption(values, name);
  if (!['ec', 'rsa'].includes(values['ca-key-type'])) throw new Error('--ca-key-type must be ec or rsa');
  const opts = {
    port: int('port'),
    dir: values.dir,
    delayMs: int('delay-ms'),
    rpUUID: values['rp-uuid'],
    rpName: values['rp-name'],
    caKeyType: values['ca-key-type'],
    sessionTtlMs: int('session-ttl-ms'),
    ocspPort: int('ocsp-port'),
    log: values.quiet ? false : (line) => process.stderr.write(`[mobile-id] ${line}\n`),
  };
  runSimulator({
    label: 'mobile-id simulator',
    start: () => startMobileIdSimulator(opts),
    readyLine: (sim) => `mobile-id simulator listening on ${sim.url}`,
  });
}

if (isMainModule(import.meta.url)) {
  try {
    main();
  } catch (e) {
    process.stderr.write(`mobile-id simulator: ${e.message}\n`);
    process.exit(1);
  }
}
