// Smart-ID simulator: speaks SK ID Solutions' Smart-ID RP API v2 (the one
// behind https://sid.demo.sk.ee/smart-id-rp/v2) on plain HTTP on 127.0.0.1,
// so that eidhub is pointed at SK's demo service instead by configuration
// alone (base URL, relyingPartyUUID/Name, trusted CA and the TLS pin).
//
//   POST /smart-id-rp/v2/authentication/etsi/:semanticsIdentifier   -> { sessionID }
//   POST /smart-id-rp/v2/authentication/document/:documentNumber    -> { sessionID }
//   POST /smart-id-rp/v2/certificatechoice/etsi/:semanticsIdentifier -> { sessionID }
//   POST /smart-id-rp/v2/certificatechoice/document/:documentNumber  -> { sessionID }
//   GET  /smart-id-rp/v2/session/:sessionId?timeoutMs=N              -> long poll: RUNNING | COMPLETE
//
// The outcome is fixed by the account (person), see ACCOUNTS below; the
// standard outcomes use SK's published DEMO test accounts, so the same test
// data gives the same result against SK's demo. Certificates come from a test
// CA made with openssl (test-ca.mjs) in the --dir folder: <dir>/sid-ca.pem is
// the CA eidhub must trust for Smart-ID. The CA's OCSP responder (`openssl
// ocsp`, RFC 6960, a delegated signing certificate) runs beside it on
// --ocsp-port; every certificate names it in its authorityInfoAccess.
//
// Run:  node tests/sim/smart-id.mjs --port P --dir D [--delay-ms N] [--rp-uuid U] [--rp-name N]
//       [--ca-key-type ec|rsa] [--session-ttl-ms N] [--qualified-only] [--ocsp-port P] [--quiet]
// or in-process: const sim = await startSmartIdSimulator({ dir, delayMs: 0 }); ... await sim.stop();
// See tests/sim/README.md. All names and numbers here are test data.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  PEOPLE, UUID_RE, closeServer, createSessionStore, fingerprintOf, hashProblem, isMainModule,
  longPollTimeout, ocspEndpoint, otherHash, prepareMaterial, readJsonObject, requiredStrings, rsaSignHash,
  runOcspResponder, runSimulator, send, startServer, validForADay, wholeNumberOption,
} from './sim-common.mjs';
import {
  citizenSubject, createTestCA, generateKey, issueCertificate, issueOcspSigner, loadCertificate, makePersonalCode,
  nationalIdInfo, revokeCertificate,
} from './test-ca.mjs';

export const BASE_PATH = '/smart-id-rp/v2';
/** SK's public DEMO relying party (the same as for Mobile-ID); accepted unless told otherwise. */
export const DEMO_RP_UUID = '00000000-0000-0000-0000-000000000000';
export const DEMO_RP_NAME = 'DEMO';
/** How long the "app" takes to answer, unless --delay-ms / SID_SIM_DELAY_MS say otherwise. */
export const DEFAULT_DELAY_MS = 2000;
/** Sessions vanish (404) this long after they completed, as in the real service. */
export const SESSION_TTL_MS = 5 * 60 * 1000;
/** Long poll bounds of the API; without timeoutMs the service waits halfway between them. */
export const LONG_POLL = Object.freeze({ minMs: 1000, maxMs: 120000, defaultMs: 60500 });
/** The same POST (same parameters, same nonce or none) within this window returns the same session. */
export const IDEMPOTENCY_WINDOW_MS = 15000;
/** Interaction types of allowedInteractionsOrder, with the text field each takes and its maximum length. */
export const INTERACTIONS = Object.freeze({
  displayTextAndPIN: { text: 'displayText60', max: 60 },
  verificationCodeChoice: { text: 'displayText60', max: 60 },
  confirmationMessage: { text: 'displayText200', max: 200 },
  confirmationMessageAndVerificationCodeChoice: { text: 'displayText200', max: 200 },
});
/** Certificate levels, lowest first. QSCD (a QUALIFIED one on a QSCD) is accepted by certificatechoice only. */
export const CERTIFICATE_LEVELS = Object.freeze(['ADVANCED', 'QUALIFIED']);
/** Every session end result of the API (all with HTTP 200, state COMPLETE). */
export const END_RESULTS = Object.freeze(['OK', 'USER_REFUSED', 'TIMEOUT', 'DOCUMENT_UNUSABLE', 'WRONG_VC',
  'REQUIRED_INTERACTION_NOT_SUPPORTED_BY_APP', 'USER_REFUSED_CERT_CHOICE', 'USER_REFUSED_DISPLAYTEXTANDPIN',
  'USER_REFUSED_VC_CHOICE', 'USER_REFUSED_CONFIRMATIONMESSAGE', 'USER_REFUSED_CONFIRMATIONMESSAGE_WITH_VC_CHOICE']);
/** The HTTP errors of the API and the message this simulator gives with each. */
export const HTTP_ERRORS = Object.freeze({
  400: 'Bad Request',
  401: 'Failed to authorize user',
  403: 'Relying Party has no permission to issue the request',
  404: 'Object not found',
  471: 'No suitable account of requested type found, but user has some other accounts',
  472: 'Person should view Smart-ID app or Smart-ID self-service portal now',
  480: 'The client is too old and not supported any more',
  580: 'System is under maintenance, retry again later',
});
/** certificatePolicies of the citizens' certificates, as in SK's Smart-ID profile. */
export const CERTIFICATE_POLICIES = Object.freeze({
  QUALIFIED: Object.freeze({ auth: ['1.3.6.1.4.1.10015.17.2', '0.4.0.2042.1.2'], sign: ['1.3.6.1.4.1.10015.17.2', '0.4.0.194112.1.2'] }),
  ADVANCED: Object.freeze({ auth: ['1.3.6.1.4.1.10015.17.1', '0.4.0.2042.1.1'], sign: ['1.3.6.1.4.1.10015.17.1', '0.4.0.2042.1.1'] }),
});
const RSA_BITS = 2048;

// ---------------------------------------------------------------------------
// Test accounts. `outcome` is unique and is what tests pick an account by.
// `endResult` is what a session ends with, `httpStatus` (if any) what the POST
// starting it answers instead; `authenticates` says whether a correct relying
// party lets the person in (it must reject the hostile ones although their
// endResult is OK). `sk: true` rows are SK's published DEMO test accounts and
// answer alike on https://sid.demo.sk.ee/smart-id-rp/v2 (names there differ).
// `mobileId` names the outcome of the same person in mobile-id.mjs.

function account(fields) {
  const f = { country: 'EE', certificateLevel: 'QUALIFIED', ...fields };
  const info = nationalIdInfo(f.country, f.personalCode);
  if (!info) throw new Error(`invalid ${f.country} personal code ${f.personalCode}`);
  const semanticsIdentifier = `PNO${f.country}-${f.personalCode}`;
  return Object.freeze({
    endResult: f.outcome, httpStatus: null, certificate: 'valid', signature: 'valid', authenticates: false, sk: false,
    mobileId: null,
    ...f,
    semanticsIdentifier,
    documentNumber: `${semanticsIdentifier}-MOCK-${f.certificateLevel === 'QUALIFIED' ? 'Q' : 'NQ'}`,
    dateOfBirth: info.dateOfBirth,
    sex: info.sex,
  });
}

const refused = (outcome, personalCode, givenName, surname, description) => account({
  outcome, personalCode, givenName, surname, sk: true, description,
});
const httpError = (httpStatus, personalCode, givenName, surname, description) => account({
  outcome: `HTTP_${httpStatus}`, personalCode, givenName, surname, httpStatus, endResult: null, certificate: null, description,
});

export const ACCOUNTS = Object.freeze([
  account({ outcome: 'OK', personalCode: '30303039914', givenName: 'Jüri', surname: 'Õunapuu', endResult: 'OK',
    authenticates: true, sk: true, description: 'QUALIFIED account' }),
  account({ outcome: 'OK_ALSO_MOBILE_ID', ...PEOPLE.maryAnn, endResult: 'OK', authenticates: true, mobileId: 'OK',
    description: 'the Mobile-ID OK citizen: the same person by either method' }),
  account({ outcome: 'OK_UNDER_18', personalCode: '61101012257', givenName: 'Grete', surname: 'Kask', endResult: 'OK',
    authenticates: true, sk: true, description: 'girl born 2011' }),
  account({ outcome: 'OK_LV', country: 'LV', personalCode: '030303-10012', givenName: 'Jānis', surname: 'Bērziņš',
    endResult: 'OK', authenticates: true, sk: true, description: 'Latvian QUALIFIED account (PNOLV-)' }),
  account({ outcome: 'OK_ADVANCED', country: 'LT', personalCode: '40504049999', givenName: 'Ona', surname: 'Žukauskienė',
    certificateLevel: 'ADVANCED', endResult: 'OK', authenticates: true, sk: true,
    description: 'Lithuanian account with an ADVANCED (non-qualified) certificate only: 471 unless ADVANCED is asked for' }),
  refused('USER_REFUSED', '30403039917', 'Ants', 'Karu', 'refused (v1-style generic answer)'),
  refused('USER_REFUSED_CERT_CHOICE', '30403039961', 'Peep', 'Hunt', 'pressed Cancel on the device choice screen'),
  refused('USER_REFUSED_DISPLAYTEXTANDPIN', '30403039928', 'Urmas', 'Kivimäe', 'pressed Cancel on the PIN screen'),
  refused('USER_REFUSED_VC_CHOICE', '30403039939', 'Kalev', 'Lõhmus', 'cancelled the verification code choice'),
  refused('USER_REFUSED_CONFIRMATIONMESSAGE', '30403039946', 'Vello', 'Põder', 'cancelled the confirmation message'),
  refused('USER_REFUSED_CONFIRMATIONMESSAGE_WITH_VC_CHOICE', '30403039950', 'Aivar', 'Orav',
    'cancelled the confirmation message with code choice'),
  refused('WRONG_VC', '30403039972', 'Tarmo', 'Hein', 'chose a wrong verification code'),
  refused('TIMEOUT', '30403039983', 'Heino', 'Ratas', 'never answers'),
  account({ outcome: 'DOCUMENT_UNUSABLE', personalCode: makePersonalCode('1985-11-20', 'M', 123), givenName: 'Kristjan',
    surname: 'Lepik', description: 'the account cannot be used now' }),
  account({ outcome: 'REQUIRED_INTERACTION_NOT_SUPPORTED_BY_APP', personalCode: makePersonalCode('1962-04-17', 'F', 45),
    givenName: 'Ülle', surname: 'Rebane', description: 'an app that supports none of the interactions asked for' }),
  account({ outcome: 'HTTP_404', ...PEOPLE.liisa, httpStatus: 404, endResult: null, certificate: null, mobileId: 'NOT_MID_CLIENT',
    description: 'no Smart-ID account (as anyone not listed here)' }),
  httpError(471, makePersonalCode('1994-08-09', 'M', 77), 'Rasmus', 'Kuusik', 'no suitable account, has other accounts'),
  httpError(472, makePersonalCode('1979-12-31', 'F', 210), 'Anneli', 'Org', 'must look at the Smart-ID app or portal'),
  httpError(480, makePersonalCode('1970-02-28', 'M', 88), 'Toomas', 'Valk', 'client too old'),
  httpError(580, makePersonalCode('2001-06-30', 'F', 31), 'Kertu', 'Luik', 'service under maintenance'),
  account({ outcome: 'WRONG_SIGNATURE', ...PEOPLE.andres, endResult: 'OK', signature: 'wrong-hash', mobileId: 'WRONG_SIGNATURE',
    description: 'OK, but the signature is over a different hash' }),
  account({ outcome: 'EXPIRED_CERTIFICATE', ...PEOPLE.helgi, endResult: 'OK', certificate: 'expired',
    mobileId: 'EXPIRED_CERTIFICATE', description: 'OK, certificate expired yesterday' }),
  account({ outcome: 'OTHER_PERSON_CERTIFICATE', ...PEOPLE.katrin, endResult: 'OK', certificate: 'other-person',
    certPerson: PEOPLE.peeter, mobileId: 'OTHER_PERSON_CERTIFICATE',
    description: 'OK, valid signature, but the certificate is her twin brother\'s' }),
  account({ outcome: 'UNTRUSTED_CA', ...PEOPLE.laura, endResult: 'OK', certificate: 'untrusted-ca', mobileId: 'UNTRUSTED_CA',
    description: 'OK, certificate from a look-alike CA (same name, other key)' }),
  account({ outcome: 'REVOKED_CERTIFICATE', ...PEOPLE.rein, endResult: 'OK', certificate: 'revoked',
    mobileId: 'REVOKED_CERTIFICATE', description: 'OK, valid signature and certificate, but the certificate is revoked (OCSP says so)' }),
  account({ outcome: 'CERTIFICATE_LEVEL_MISMATCH', personalCode: makePersonalCode('1988-10-10', 'M', 56), givenName: 'Madis',
    surname: 'Känd', certificateLevel: 'ADVANCED', endResult: 'OK', levelMismatch: true,
    description: 'OK with an ADVANCED certificate even when QUALIFIED was asked for (the real service answers 471)' }),
]);

/** The account with that outcome (see ACCOUNTS); throws if there is none. */
export function accountByOutcome(outcome) {
  const a = ACCOUNTS.find((x) => x.outcome === outcome);
  if (!a) throw new Error(`no test account with outcome ${outcome}`);
  return a;
}

/**
 * The 4-digit verification code shown to the user: the last 2 bytes of
 * SHA-256(hash) as an unsigned big-endian integer, mod 10000, zero-padded.
 * SHA-256 whatever the hash type; hash is the raw bytes, not base64.
 */
export function verificationCode(hash) {
  const d = crypto.createHash('sha256').update(Buffer.from(hash)).digest();
  return String(d.readUInt16BE(d.length - 2) % 10000).padStart(4, '0');
}

/** signature.algorithm as the API names it: sha256WithRSAEncryption, ... */
export function signatureAlgorithm(hashType) {
  return `${hashType.toLowerCase()}WithRSAEncryption`;
}

// ---------------------------------------------------------------------------
// Certificates (made once per folder, reused while still fit)

const MATERIAL_VERSION = 2;
const withCertificate = () => ACCOUNTS.filter((a) => a.certificate);

async function makeMaterial(work, caKeyType, ocspUrl) {
  const caOpts = { commonName: 'TEST of eidhub Smart-ID CA', organization: 'eidhub test PKI', keyType: caKeyType };
  // Same subject as the trusted CA, other key: only a signature check tells them apart.
  const [ca, untrusted] = await Promise.all([
    createTestCA(work, { name: 'sid-ca', ...caOpts }),
    createTestCA(path.join(work, 'untrusted'), { name: 'sid-ca', ...caOpts }),
  ]);
  const manifest = { version: MATERIAL_VERSION, accounts: {} };
  // Accounts whose authentication never ends OK show their certificate only
  // through certificatechoice: they share one key (RSA key generation is
  // what makes the first start slow).
  const sharedKey = generateKey(path.join(work, 'not-ok-accounts-key.pem'), { keyType: 'rsa', rsaBits: RSA_BITS });
  await Promise.all(withCertificate().map(async (a) => {
    const person = a.certPerson ?? a;
    const subject = citizenSubject({
      country: a.country, surname: person.surname, givenName: person.givenName, personalCode: person.personalCode,
    });
    const issuer = a.certificate === 'untrusted-ca' ? untrusted : ca;
    const expired = a.certificate === 'expired';
    const stem = `account-${a.semanticsIdentifier}`;
    const policies = CERTIFICATE_POLICIES[a.certificateLevel];
    const auth = await issueCertificate(issuer, {
      name: `${stem}-auth`, subject, keyType: 'rsa', rsaBits: RSA_BITS, keyFile: a.endResult === 'OK' ? undefined : await sharedKey, expired,
      keyUsage: ['digitalSignature', 'keyEncipherment', 'dataEncipherment'], extKeyUsage: ['clientAuth'], policies: policies.auth,
      ocspUrl,
    });
    // The signing certificate (what certificatechoice returns); same key, for speed.
    const sign = await issueCertificate(issuer, {
      name: `${stem}-sign`, subject, keyFile: auth.keyFile, expired, keyUsage: ['nonRepudiation'], policies: policies.sign,
      ocspUrl,
    });
    if (a.certificate === 'revoked') {
      await revokeCertificate(issuer, auth.certFile);
      await revokeCertificate(issuer, sign.certFile);
    }
    manifest.accounts[a.outcome] = {
      authCert: path.relative(work, auth.certFile), signCert: path.relative(work, sign.certFile),
      key: path.relative(work, auth.keyFile),
    };
  }));
  const signer = await issueOcspSigner(ca, { commonName: 'TEST of eidhub Smart-ID CA OCSP RESPONDER' });
  manifest.ocspSigner = { cert: path.relative(work, signer.certFile), key: path.relative(work, signer.keyFile) };
  manifest.ocspUrl = ocspUrl;
  return manifest;
}

function loadMaterial(work, manifest) {
  const byOutcome = new Map();
  for (const a of withCertificate()) {
    const m = manifest.accounts[a.outcome];
    const auth = loadCertificate(path.join(work, m.authCert), path.join(work, m.key));
    const sign = loadCertificate(path.join(work, m.signCert), path.join(work, m.key));
    if (a.certificate !== 'expired' && !validForADay(auth)) throw new Error('certificate expires');
    byOutcome.set(a.outcome, { auth, sign });
  }
  const signer = loadCertificate(path.join(work, manifest.ocspSigner.cert), path.join(work, manifest.ocspSigner.key));
  if (!validForADay(signer)) throw new Error('OCSP signer expires');
  const ocsp = { caFile: path.join(work, 'sid-ca.pem'), indexFile: path.join(work, 'sid-ca.db', 'index.txt'), signer };
  return { byOutcome, ocsp };
}

// ---------------------------------------------------------------------------
// Requests

/** The first problem with the fields every session-creating POST has, or null. */
function checkCommon(b, { allowQscd }) {
  const missing = requiredStrings(b, ['relyingPartyUUID', 'relyingPartyName']);
  if (missing) return missing;
  if (!UUID_RE.test(b.relyingPartyUUID)) return 'relyingPartyUUID must be a UUID in the 8-4-4-4-12 form';
  const nameBytes = Buffer.byteLength(b.relyingPartyName);
  if (nameBytes < 1 || nameBytes > 32) return 'relyingPartyName must be 1 to 32 bytes in UTF-8';
  if (b.certificateLevel !== undefined && b.certificateLevel !== null) {
    const levels = allowQscd ? [...CERTIFICATE_LEVELS, 'QSCD'] : CERTIFICATE_LEVELS;
    if (!levels.includes(b.certificateLevel)) return `certificateLevel must be one of ${levels.join(', ')}`;
  }
  if (b.nonce !== undefined && b.nonce !== null) {
    if (typeof b.nonce !== 'string' || b.nonce.length < 1 || b.nonce.length > 30) return 'nonce must be a string of 1 to 30 characters';
  }
  if (b.requestProperties !== undefined && b.requestProperties !== null) {
    const p = b.requestProperties;
    if (typeof p !== 'object' || Array.isArray(p)) return 'requestProperties must be an object';
    if (p.shareMdClientIpAddress !== undefined && typeof p.shareMdClientIpAddress !== 'boolean') {
      return 'requestProperties.shareMdClientIpAddress must be true or false';
    }
  }
  if (b.capabilities !== undefined && b.capabilities !== null) {
    if (!Array.isArray(b.capabilities) || b.capabilities.some((c) => typeof c !== 'string')) return 'capabilities must be an array of strings';
  }
  return null;
}

/** The first problem with allowedInteractionsOrder, or null. */
function checkInteractions(list) {
  if (list === undefined || list === null) return 'allowedInteractionsOrder must not be null';
  if (!Array.isArray(list) || list.length === 0) return 'allowedInteractionsOrder must be a non-empty array';
  for (const [i, it] of list.entries()) {
    const at = `allowedInteractionsOrder[${i}]`;
    if (typeof it !== 'object' || it === null || Array.isArray(it)) return `${at} must be an object`;
    if (!Object.hasOwn(INTERACTIONS, it.type)) return `${at}.type must be one of ${Object.keys(INTERACTIONS).join(', ')}`;
    const { text, max } = INTERACTIONS[it.type];
    const other = text === 'displayText60' ? 'displayText200' : 'displayText60';
    if (typeof it[text] !== 'string') return `${at}.${text} must be a string for ${it.type}`;
    if ([...it[text]].length > max) return `${at}.${text} must be at most ${max} characters`;
    if (it[other] !== undefined && it[other] !== null) return `${at}.${other} must not be given for ${it.type}`;
  }
  return null;
}

/** The first problem with an authentication request body, or null. */
function checkAuthentication(b) {
  const common = checkCommon(b, { allowQscd: false });
  if (common) return common;
  const missing = requiredStrings(b, ['hash', 'hashType']);
  if (missing) return missing;
  return hashProblem(b) ?? checkInteractions(b.allowedInteractionsOrder);
}

const SEMANTICS_IDENTIFIER_RE = /^(?:PAS|IDC|PNO)[A-Z]{2}-[0-9A-Za-z-]{1,40}$/;

/** The COMPLETE body of an authentication session of account a (less ignoredProperties). */
function authenticationOutcome(a, leaves, b) {
  if (a.endResult !== 'OK') return { state: 'COMPLETE', result: { endResult: a.endResult } };
  const hash = Buffer.from(b.hash, 'base64');
  const signed = a.signature === 'wrong-hash' ? otherHash(b.hashType, hash) : hash;
  return {
    state: 'COMPLETE',
    result: { endResult: 'OK', documentNumber: a.documentNumber },
    signature: { value: rsaSignHash(leaves.auth.privateKey, b.hashType, signed).toString('base64'), algorithm: signatureAlgorithm(b.hashType) },
    cert: { value: leaves.auth.certDer, certificateLevel: a.certificateLevel },
    interactionFlowUsed: b.allowedInteractionsOrder[0].type,
  };
}

/** The COMPLETE body of a certificate choice session: no interaction but the device choice, so most refusals do not apply. */
function certificateChoiceOutcome(a, leaves) {
  if (['USER_REFUSED', 'USER_REFUSED_CERT_CHOICE', 'TIMEOUT', 'DOCUMENT_UNUSABLE'].includes(a.endResult)) {
    return { state: 'COMPLETE', result: { endResult: a.endResult } };
  }
  return {
    state: 'COMPLETE',
    result: { endResult: 'OK', documentNumber: a.documentNumber },
    cert: { value: leaves.sign.certDer, certificateLevel: a.certificateLevel },
  };
}

// ---------------------------------------------------------------------------
// HTTP

/** The API's error body: {code, message} (as SK's service answers, e.g. {"code":471,"message":"..."}). */
function sendError(res, status, message = HTTP_ERRORS[status] ?? 'Error', headers) {
  send(res, status, { code: status, message }, headers);
}

/**
 * Starts the simulator. Options:
 *   port (0 = any free one), host ('127.0.0.1'), dir (certificates; default a new temporary folder),
 *   delayMs (DEFAULT_DELAY_MS), rpUUID / rpName (DEMO_RP_UUID / DEMO_RP_NAME),
 *   caKeyType ('ec' P-256, default, or 'rsa' 3072), sessionTtlMs (SESSION_TTL_MS, counted from completion),
 *   qualifiedOnly (the relying party may not ask for ADVANCED: 403), log (function(line) or false),
 *   ocspPort (the CA's OCSP responder, named in every certificate's authorityInfoAccess; 0 = any free one).
 * Returns { url, port, caFile, dir, accounts, ocsp: { url, port, running(), setRunning(on) }, setDelay(ms),
 * setMaintenance(on), stop() }.
 */
export async function startSmartIdSimulator({
  port = 0, host = '127.0.0.1', dir, delayMs = DEFAULT_DELAY_MS, rpUUID = DEMO_RP_UUID, rpName = DEMO_RP_NAME,
  caKeyType = 'ec', sessionTtlMs = SESSION_TTL_MS, qualifiedOnly = false, log = false, ocspPort = 0,
} = {}) {
  dir ??= fs.mkdtempSync(path.join(os.tmpdir(), 'eidhub-sid-sim-'));
  const say = typeof log === 'function' ? log : () => {};
  const endpoint = await ocspEndpoint(ocspPort, dir, 'sid-sim');
  const material = await prepareMaterial(dir, {
    workName: 'sid-sim', caName: 'sid-ca',
    fingerprint: fingerprintOf({ MATERIAL_VERSION, caKeyType, ACCOUNTS, ocspUrl: endpoint.url }),
    make: (work) => makeMaterial(work, caKeyType, endpoint.url),
    load: loadMaterial,
  });
  const ocsp = await runOcspResponder(material.ocsp, endpoint, say);
  const sessions = createSessionStore({ ttlMs: sessionTtlMs, ttlFrom: 'complete', say, describe: (body) => body?.result?.endResult });
  const recent = new Map(); // idempotency key -> { id, at }
  let maintenance = false;

  function authorized(b) {
    return b.relyingPartyUUID === rpUUID && b.relyingPartyName.toLowerCase() === rpName.toLowerCase();
  }

  /** The account an URL names, or null after answering 400 (malformed) or 404 (none). */
  function findAccount(res, kind, id) {
    if (kind === 'etsi') {
      if (!SEMANTICS_IDENTIFIER_RE.test(id)) {
        sendError(res, 400, 'semantics identifier must be <PNO|IDC|PAS><country>-<identifier>, e.g. PNOEE-30303039914');
        return null;
      }
    }
    const a = ACCOUNTS.find((x) => (kind === 'etsi' ? x.semanticsIdentifier : x.documentNumber) === id);
    if (!a || a.httpStatus === 404) {
      sendError(res, 404);
      return null;
    }
    return a;
  }

  /** Shared by authentication and certificatechoice: validation, account, HTTP outcomes, idempotency, the session. */
  async function startSession(req, res, { kind, id, operation }) {
    if (maintenance) return sendError(res, 580);
    const b = await readJsonObject(req, res, sendError);
    if (!b) return;
    const problem = operation === 'authentication' ? checkAuthentication(b) : checkCommon(b, { allowQscd: true });
    if (problem) return sendError(res, 400, problem);
    if (!authorized(b)) return sendError(res, 401);
    const requested = b.certificateLevel === 'QSCD' ? 'QUALIFIED' : (b.certificateLevel ?? 'QUALIFIED');
    if (qualifiedOnly && requested === 'ADVANCED') return sendError(res, 403);
    const a = findAccount(res, kind, id);
    if (!a) return;
    if (a.httpStatus) return sendError(res, a.httpStatus);
    if (CERTIFICATE_LEVELS.indexOf(a.certificateLevel) < CERTIFICATE_LEVELS.indexOf(requested) && !a.levelMismatch) {
      return sendError(res, 471);
    }

    const key = crypto.createHash('sha256').update(JSON.stringify([operation, kind, id, b])).digest('hex');
    const t = Date.now();
    for (const [k, r] of recent) if (t - r.at > IDEMPOTENCY_WINDOW_MS) recent.delete(k);
    const again = recent.get(key);
    if (again && sessions.get(again.id)) {
      say(`${operation} ${again.id}: repeated request, same session`);
      return send(res, 200, { sessionID: again.id });
    }

    const leaves = material.byOutcome.get(a.outcome);
    const outcome = operation === 'authentication' ? authenticationOutcome(a, leaves, b) : certificateChoiceOutcome(a, leaves);
    const s = sessions.start({ delayMs, outcome });
    s.ignoredProperties = Object.keys(b.requestProperties ?? {}).filter((p) => p !== 'shareMdClientIpAddress');
    recent.set(key, { id: s.id, at: t });
    const hash = operation === 'authentication' ? Buffer.from(b.hash, 'base64') : null;
    say(`${operation} ${s.id}: ${kind}/${id} (${a.outcome}), level ${b.certificateLevel ?? '(QUALIFIED)'}`
      + `${hash ? `, ${b.hashType}, verification code ${verificationCode(hash)}` : ''}`
      + `${b.allowedInteractionsOrder ? `, interactions ${b.allowedInteractionsOrder.map((i) => i.type).join('>')}` : ''}`);
    send(res, 200, { sessionID: s.id });
  }

  function respondState(res, s) {
    if (maintenance) return sendError(res, 580);
    if (s.failed) return sendError(res, 500, 'Internal error');
    const ignored = s.ignoredProperties.length ? { ignoredProperties: s.ignoredProperties } : {};
    if (s.complete) return send(res, 200, { ...s.complete, ...ignored });
    return send(res, 200, { state: 'RUNNING', ...ignored });
  }

  function pollSession(req, res, id, query) {
    if (maintenance) return sendError(res, 580);
    const s = sessions.get(id);
    if (!s) return sendError(res, 404, 'Session does not exist or has expired');
    const timeout = longPollTimeout(query.get('timeoutMs'), LONG_POLL);
    if (Number.isNaN(timeout)) return sendError(res, 400, 'timeoutMs must be a whole number of milliseconds');
    sessions.wait(res, s, timeout, respondState);
  }

  const decode = (x) => { try { return decodeURIComponent(x); } catch { return x; } };
  const routes = [
    {
      re: /^\/(authentication|certificatechoice)\/(etsi|document)\/([^/]+)$/,
      methods: ['POST'],
      handle: (req, res, m) => startSession(req, res, { operation: m[1], kind: m[2], id: decode(m[3]) }),
    },
    { re: /^\/session\/([^/]+)$/, methods: ['GET'], handle: (req, res, m, q) => pollSession(req, res, decode(m[1]), q) },
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
    accounts: ACCOUNTS,
    ocsp,
    setDelay(ms) { delayMs = ms; },
    /** While on, every request is answered 580 (system under maintenance). */
    setMaintenance(on) { maintenance = Boolean(on); },
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
      port: { type: 'string', default: process.env.SID_SIM_PORT ?? '0' },
      dir: { type: 'string', default: process.env.SID_SIM_DIR },
      'delay-ms': { type: 'string', default: process.env.SID_SIM_DELAY_MS ?? String(DEFAULT_DELAY_MS) },
      'rp-uuid': { type: 'string', default: process.env.SID_SIM_RP_UUID ?? DEMO_RP_UUID },
      'rp-name': { type: 'string', default: process.env.SID_SIM_RP_NAME ?? DEMO_RP_NAME },
      'ca-key-type': { type: 'string', default: 'ec' },
      'session-ttl-ms': { type: 'string', default: String(SESSION_TTL_MS) },
      'qualified-only': { type: 'boolean', default: false },
      'ocsp-port': { type: 'string', default: process.env.SID_SIM_OCSP_PORT ?? '0' },
      quiet: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log('usage: node tests/sim/smart-id.mjs --port P --dir D [--delay-ms N] [--rp-uuid U] [--rp-name N]'
      + ' [--ca-key-type ec|rsa] [--session-ttl-ms N] [--qualified-only] [--ocsp-port P] [--quiet]\n'
      + 'Env: SID_SIM_PORT, SID_SIM_DIR, SID_SIM_DELAY_MS, SID_SIM_RP_UUID, SID_SIM_RP_NAME, SID_SIM_OCSP_PORT.'
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
    qualifiedOnly: values['qualified-only'],
    ocspPort: int('ocsp-port'),
    log: values.quiet ? false : (line) => process.stderr.write(`[smart-id] ${line}\n`),
  };
  runSimulator({
    label: 'smart-id simulator',
    start: () => startSmartIdSimulator(opts),
    readyLine: (sim) => `smart-id simulator listening on ${sim.url}`,
  });
}

if (isMainModule(import.meta.url)) {
  try {
    main();
  } catch (e) {
    process.stderr.write(`smart-id simulator: ${e.message}\n`);
    process.exit(1);
  }
}
