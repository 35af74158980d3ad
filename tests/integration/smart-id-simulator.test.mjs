// Tests of the Smart-ID (RP API v2) simulator itself, over real HTTP against
// it running as a child process: every account's outcome, request validation
// (400/401/403/404/405/471/472/480/580), idempotent session creation, long
// polling, and that what it returns passes (or, for the hostile accounts,
// fails) exactly the checks a relying party must make, verified here with
// node:crypto (and openssl for certificate extensions) only.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { freePort, tmpdir } from '../lib/harness.mjs';
import { CITIZENS, citizenByOutcome } from '../sim/mobile-id.mjs';
import {
  ACCOUNTS, DEMO_RP_NAME, DEMO_RP_UUID, END_RESULTS, accountByOutcome, startSmartIdSimulator, verificationCode,
} from '../sim/smart-id.mjs';
import { ageOn, nationalIdInfo } from '../sim/test-ca.mjs';

const SIM = path.resolve(import.meta.dirname, '../sim/smart-id.mjs');
const NODE_HASH = { SHA256: 'sha256', SHA384: 'sha384', SHA512: 'sha512' };
const DIGEST_INFO = {
  SHA256: '3031300d060960864801650304020105000420',
  SHA384: '3041300d060960864801650304020205000430',
  SHA512: '3051300d060960864801650304020305000440',
};
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const running = new Set();
process.on('exit', () => { for (const p of running) p.kill('SIGKILL'); });

/** Starts the simulator as a child process on a free port; resolves once it printed its ready line. */
async function spawnSimulator(dir, ...args) {
  const port = await freePort();
  const proc = spawn(process.execPath, [SIM, '--port', String(port), '--dir', dir, '--quiet', ...args],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(proc);
  proc.on('exit', () => running.delete(proc));
  let stdout = '';
  let stderr = '';
  proc.stderr.on('data', (d) => { stderr += d; });
  const line = await new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`simulator not ready in 30 s: ${stderr}`)), 30000);
    proc.stdout.on('data', (d) => {
      stdout += d;
      if (stdout.includes('\n')) { clearTimeout(t); resolve(stdout.split('\n')[0]); }
    });
    proc.on('exit', (code) => { clearTimeout(t); reject(new Error(`simulator exited with ${code}: ${stderr}`)); });
  });
  return {
    proc, line, url: `http://127.0.0.1:${port}/smart-id-rp/v2`,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
      const exited = new Promise((resolve) => proc.once('exit', (code) => resolve(code)));
      proc.kill('SIGTERM');
      return exited;
    },
  };
}

async function call(url, { method = 'GET', body } = {}) {
  const r = await fetch(url, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : (typeof body === 'string' ? body : JSON.stringify(body)),
  });
  const text = await r.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: r.status, body: json, text, headers: r.headers };
}

/** A fresh random hash of a type, and the message it is the hash of. */
function newHash(hashType = 'SHA256') {
  const message = crypto.randomBytes(48);
  return { hashType, message, hash: crypto.createHash(NODE_HASH[hashType]).update(message).digest() };
}

function authBody(h, extra = {}) {
  return {
    relyingPartyUUID: DEMO_RP_UUID, relyingPartyName: DEMO_RP_NAME, certificateLevel: 'QUALIFIED',
    hash: h.hash.toString('base64'), hashType: h.hashType,
    allowedInteractionsOrder: [{ type: 'displayTextAndPIN', displayText60: 'Log in to eidhub test' }],
    ...extra,
  };
}

const etsi = (base, a, op = 'authentication') => `${base}/${op}/etsi/${a.semanticsIdentifier}`;

/** Long-polls a session to COMPLETE. */
async function complete(base, sessionID) {
  let status;
  for (let i = 0; i < 10; i++) {
    status = await call(`${base}/session/${sessionID}?timeoutMs=5000`);
    assert.equal(status.status, 200, status.text);
    if (status.body.state === 'COMPLETE') break;
  }
  assert.equal(status.body.state, 'COMPLETE');
  return status.body;
}

/** Starts an authentication of account a (by semantics identifier, or url) and long-polls it to COMPLETE. */
async function authenticate(base, a, { hashType = 'SHA256', url, extra } = {}) {
  const h = newHash(hashType);
  const start = await call(url ?? etsi(base, a), { method: 'POST', body: authBody(h, extra) });
  assert.equal(start.status, 200, start.text);
  assert.deepEqual(Object.keys(start.body), ['sessionID']);
  assert.match(start.body.sessionID, UUID);
  return { h, sessionID: start.body.sessionID, status: await complete(base, start.body.sessionID) };
}

/** True if signature.value is an RSA PKCS#1 v1.5 signature over exactly h.hash by cert.value's key. */
function signatureVerifies(h, status) {
  const cert = new crypto.X509Certificate(Buffer.from(status.cert.value, 'base64'));
  assert.equal(cert.publicKey.asymmetricKeyType, 'rsa', 'Smart-ID keys are RSA');
  const sig = Buffer.from(status.signature.value, 'base64');
  // PKCS#1 v1.5: the signature opens to DigestInfo(hashType) || the hash that was sent.
  const opened = crypto.publicDecrypt({ key: cert.publicKey, padding: crypto.constants.RSA_PKCS1_PADDING }, sig);
  const expected = Buffer.concat([Buffer.from(DIGEST_INFO[h.hashType], 'hex'), h.hash]);
  const verifies = crypto.verify(NODE_HASH[h.hashType], h.message, cert.publicKey, sig);
  assert.equal(verifies, opened.equals(expected));
  return verifies;
}

function subjectOf(certB64) {
  const cert = new crypto.X509Certificate(Buffer.from(certB64, 'base64'));
  const fields = Object.fromEntries(cert.subject.split('\n').map((l) => {
    const i = l.indexOf('=');
    return [l.slice(0, i), l.slice(i + 1).replaceAll('\\,', ',')];
  }));
  return { cert, fields };
}

/** keyUsage, extendedKeyUsage and certificatePolicies of a certificate, as openssl prints them. */
function extensionsOf(cert) {
  return execFileSync('openssl', ['x509', '-noout', '-ext', 'keyUsage,extendedKeyUsage,certificatePolicies'],
    { input: cert.toString(), encoding: 'utf8' });
}

const validNow = (cert) => Date.parse(cert.validFrom) <= Date.now() && Date.now() <= Date.parse(cert.validTo);

function expectedSubject(a, person = a) {
  const id = `PNO${a.country}-${person.personalCode}`;
  return {
    C: a.country,
    CN: `${person.surname.toUpperCase()},${person.givenName.toUpperCase()},${id}`,
    SN: person.surname.toUpperCase(),
    GN: person.givenName.toUpperCase(),
    serialNumber: id,
  };
}

// The tests run concurrently (the long-polling ones take a few seconds of waiting).
describe('Smart-ID simulator', { concurrency: true }, () => {
  let dir;
  let sim;
  let slow; // app answers after 2.5 s, sessions live 1.5 s after completing
  let base;
  let ca;

  before(async () => {
    dir = tmpdir('eidhub-sid-sim-test-');
    sim = await spawnSimulator(dir, '--delay-ms', '0');
    base = sim.url;
    ca = new crypto.X509Certificate(fs.readFileSync(path.join(dir, 'sid-ca.pem')));
    // the app answers 2.5 s after the start: a 1 s poll right after the start must see RUNNING
    // even when the start itself is slow on a loaded machine
    slow = await spawnSimulator(dir, '--delay-ms', '2500', '--session-ttl-ms', '1500'); // reuses the certificates
  });
  after(async () => {
    await slow?.stop();
    assert.equal(await sim?.stop(), 0, 'exits cleanly on SIGTERM');
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('prints its ready line and writes the trusted CA', () => {
    assert.match(sim.line, /^smart-id simulator listening on http:\/\/127\.0\.0\.1:\d+\/smart-id-rp\/v2$/);
    assert.equal(sim.line, `smart-id simulator listening on ${base}`);
    assert.ok(ca.ca, 'sid-ca.pem is a CA certificate');
    assert.ok(validNow(ca));
    assert.ok(ca.verify(ca.publicKey), 'self-signed');
  });

  test('the accounts table is consistent, and shared people match the Mobile-ID simulator', () => {
    const outcomes = new Set(ACCOUNTS.map((a) => a.outcome));
    assert.equal(outcomes.size, ACCOUNTS.length, 'outcomes are unique');
    assert.equal(new Set(ACCOUNTS.map((a) => a.semanticsIdentifier)).size, ACCOUNTS.length);
    assert.equal(new Set(ACCOUNTS.map((a) => a.documentNumber)).size, ACCOUNTS.length);
    for (const o of [...END_RESULTS, 'OK_ADVANCED', 'OK_UNDER_18', 'HTTP_404', 'HTTP_471', 'HTTP_472', 'HTTP_480', 'HTTP_580',
      'WRONG_SIGNATURE', 'EXPIRED_CERTIFICATE', 'OTHER_PERSON_CERTIFICATE', 'UNTRUSTED_CA']) {
      assert.ok(outcomes.has(o), `an account for ${o}`);
    }
    for (const a of ACCOUNTS) {
      const info = nationalIdInfo(a.country, a.personalCode);
      assert.ok(info, `${a.semanticsIdentifier} has a valid checksum and date`);
      assert.equal(a.dateOfBirth, info.dateOfBirth);
      assert.match(a.documentNumber, /^PNO(EE|LV|LT)-[\d-]+-MOCK-(Q|NQ)$/);
      assert.equal(a.documentNumber.startsWith(`${a.semanticsIdentifier}-`), true);
      if (a.certPerson) assert.ok(nationalIdInfo(a.country, a.certPerson.personalCode));
    }
    assert.equal(accountByOutcome('OK').documentNumber, 'PNOEE-30303039914-MOCK-Q', 'SK\'s DEMO account');
    assert.equal(accountByOutcome('OK_ADVANCED').documentNumber, 'PNOLT-40504049999-MOCK-NQ');
    assert.equal(accountByOutcome('OK_LV').documentNumber, 'PNOLV-030303-10012-MOCK-Q');
    const ages = ACCOUNTS.filter((a) => a.dateOfBirth).map((a) => ageOn(a.dateOfBirth));
    assert.ok(ages.some((x) => x < 18) && ages.some((x) => x >= 18), 'some under 18 and some adults');
    assert.ok(ageOn(accountByOutcome('OK_UNDER_18').dateOfBirth) < 18);
    assert.ok(ACCOUNTS.filter((a) => a.sk).length >= 10, 'SK\'s DEMO accounts');
    assert.deepEqual(ACCOUNTS.filter((a) => a.authenticates).map((a) => a.outcome),
      ['OK', 'OK_ALSO_MOBILE_ID', 'OK_UNDER_18', 'OK_LV', 'OK_ADVANCED']);
    // The same person in both simulators: same personal code and name.
    const shared = ACCOUNTS.filter((a) => a.mobileId);
    assert.ok(shared.length >= 2);
    for (const a of shared) {
      const c = citizenByOutcome(a.mobileId);
      assert.deepEqual([a.personalCode, a.givenName, a.surname], [c.personalCode, c.givenName, c.surname], a.outcome);
    }
    assert.equal(accountByOutcome('OK_ALSO_MOBILE_ID').personalCode, citizenByOutcome('OK').personalCode);
    // Nobody else is in both with another name.
    for (const a of ACCOUNTS) {
      const c = CITIZENS.find((x) => x.personalCode === a.personalCode);
      if (c && a.country === 'EE') assert.equal(`${a.givenName} ${a.surname}`, `${c.givenName} ${c.surname}`);
    }
    assert.throws(() => accountByOutcome('NO_SUCH_OUTCOME'));
  });

  test('verification code: last 2 bytes of SHA-256(hash) mod 10000', () => {
    // The vectors of SK's smart-id-java-client.
    assert.equal(verificationCode(Buffer.from([27, 187])), '4555');
    assert.equal(verificationCode(crypto.createHash('sha256').update('Hello World!').digest()), '7712');
    assert.equal(verificationCode(crypto.createHash('sha256').update('Go ahead, make my day.').digest()), '7782');
    assert.equal(verificationCode(crypto.createHash('sha256').update('You\'re gonna need a bigger boat.').digest()), '1464');
  });

  for (const outcome of ['OK', 'OK_ALSO_MOBILE_ID', 'OK_UNDER_18', 'OK_LV']) {
    test(`${outcome}: signature over exactly the sent hash, QUALIFIED certificate of the person, chained to sid-ca.pem`, async () => {
      const a = accountByOutcome(outcome);
      for (const hashType of ['SHA256', 'SHA384', 'SHA512']) {
        const { h, status } = await authenticate(base, a, { hashType });
        assert.deepEqual(Object.keys(status), ['state', 'result', 'signature', 'cert', 'interactionFlowUsed']);
        assert.deepEqual(status.result, { endResult: 'OK', documentNumber: a.documentNumber });
        assert.equal(status.signature.algorithm, `${hashType.toLowerCase()}WithRSAEncryption`);
        assert.equal(status.cert.certificateLevel, 'QUALIFIED');
        assert.equal(status.interactionFlowUsed, 'displayTextAndPIN');
        assert.ok(signatureVerifies(h, status), `${hashType} signature verifies`);
        const { cert, fields } = subjectOf(status.cert.value);
        assert.ok(cert.verify(ca.publicKey), 'issued by the trusted CA');
        assert.equal(cert.issuer, ca.subject);
        assert.ok(validNow(cert));
        assert.deepEqual(fields, expectedSubject(a));
      }
    });
  }

  test('certificates look like SK\'s Smart-ID ones: authentication key usage and level policies', async () => {
    const { status } = await authenticate(base, accountByOutcome('OK'));
    const ext = extensionsOf(subjectOf(status.cert.value).cert);
    assert.match(ext, /Digital Signature, Key Encipherment, Data Encipherment/);
    assert.match(ext, /TLS Web Client Authentication/);
    assert.match(ext, /Policy: 1\.3\.6\.1\.4\.1\.10015\.17\.2/);
    const adv = await authenticate(base, accountByOutcome('OK_ADVANCED'), { extra: { certificateLevel: 'ADVANCED' } });
    assert.match(extensionsOf(subjectOf(adv.status.cert.value).cert), /Policy: 1\.3\.6\.1\.4\.1\.10015\.17\.1/);
  });

  test('authentication by document number, and the interaction used is the first allowed one', async () => {
    const a = accountByOutcome('OK');
    const { h, status } = await authenticate(base, a, {
      url: `${base}/authentication/document/${a.documentNumber}`,
      extra: {
        allowedInteractionsOrder: [
          { type: 'verificationCodeChoice', displayText60: 'Log in?' },
          { type: 'displayTextAndPIN', displayText60: 'Log in?' },
        ],
      },
    });
    assert.equal(status.result.documentNumber, a.documentNumber);
    assert.equal(status.interactionFlowUsed, 'verificationCodeChoice');
    assert.ok(signatureVerifies(h, status));
    const unknown = await call(`${base}/authentication/document/PNOEE-30303039914-MOCK-X`, { method: 'POST', body: authBody(newHash()) });
    assert.equal(unknown.status, 404);
  });

  test('OK_ADVANCED: OK with certificateLevel ADVANCED when ADVANCED is asked for, 471 when QUALIFIED is (or by default)', async () => {
    const a = accountByOutcome('OK_ADVANCED');
    const { h, status } = await authenticate(base, a, { extra: { certificateLevel: 'ADVANCED' } });
    assert.equal(status.cert.certificateLevel, 'ADVANCED');
    assert.equal(status.result.documentNumber, 'PNOLT-40504049999-MOCK-NQ');
    assert.ok(signatureVerifies(h, status));
    assert.deepEqual(subjectOf(status.cert.value).fields, expectedSubject(a));
    for (const certificateLevel of ['QUALIFIED', undefined]) {
      const r = await call(etsi(base, a), { method: 'POST', body: authBody(newHash(), { certificateLevel }) });
      assert.equal(r.status, 471);
      assert.deepEqual(r.body, { code: 471, message: r.body.message });
    }
    // A QUALIFIED account satisfies a request for ADVANCED, and says it is QUALIFIED.
    const q = await authenticate(base, accountByOutcome('OK'), { extra: { certificateLevel: 'ADVANCED' } });
    assert.equal(q.status.cert.certificateLevel, 'QUALIFIED');
  });

  for (const endResult of END_RESULTS.filter((r) => r !== 'OK')) {
    test(`${endResult}: COMPLETE with that endResult and nothing else`, async () => {
      const { status } = await authenticate(base, accountByOutcome(endResult));
      assert.deepEqual(status, { state: 'COMPLETE', result: { endResult } });
    });
  }

  test('HTTP outcomes: 404 (no account, also anyone unknown), 471, 472, 480, 580 with {code, message}', async () => {
    const h = newHash();
    for (const status of [404, 471, 472, 480, 580]) {
      const a = accountByOutcome(`HTTP_${status}`);
      for (const url of [etsi(base, a), `${base}/authentication/document/${a.documentNumber}`, etsi(base, a, 'certificatechoice')]) {
        const r = await call(url, { method: 'POST', body: authBody(h) });
        assert.equal(r.status, status, url);
        assert.deepEqual(Object.keys(r.body), ['code', 'message']);
        assert.equal(r.body.code, status);
      }
    }
    for (const id of ['PNOEE-38001085718', 'PNOLV-010101-10006', 'PNOLT-10101020001', 'PASKZ-987654321012']) {
      assert.equal((await call(`${base}/authentication/etsi/${id}`, { method: 'POST', body: authBody(h) })).status, 404, id);
    }
  });

  test('WRONG_SIGNATURE: OK, trusted certificate, signature not over the sent hash', async () => {
    const { h, status } = await authenticate(base, accountByOutcome('WRONG_SIGNATURE'));
    assert.equal(status.result.endResult, 'OK');
    const { cert } = subjectOf(status.cert.value);
    assert.ok(cert.verify(ca.publicKey) && validNow(cert));
    assert.equal(signatureVerifies(h, status), false);
  });

  test('EXPIRED_CERTIFICATE: valid signature, trusted but expired certificate', async () => {
    const a = accountByOutcome('EXPIRED_CERTIFICATE');
    const { h, status } = await authenticate(base, a, { hashType: 'SHA512' });
    assert.ok(signatureVerifies(h, status));
    const { cert, fields } = subjectOf(status.cert.value);
    assert.ok(cert.verify(ca.publicKey));
    assert.ok(Date.parse(cert.validTo) < Date.now(), 'expired');
    assert.equal(fields.serialNumber, a.semanticsIdentifier);
  });

  test('OTHER_PERSON_CERTIFICATE: valid signature and chain, but another person\'s identity', async () => {
    const a = accountByOutcome('OTHER_PERSON_CERTIFICATE');
    const { h, status } = await authenticate(base, a);
    assert.ok(signatureVerifies(h, status));
    assert.equal(status.result.documentNumber, a.documentNumber, 'the document number is still hers');
    const { cert, fields } = subjectOf(status.cert.value);
    assert.ok(cert.verify(ca.publicKey) && validNow(cert));
    assert.deepEqual(fields, expectedSubject(a, a.certPerson));
  });

  test('UNTRUSTED_CA: valid signature, look-alike issuer name, not signed by sid-ca.pem', async () => {
    const { h, status } = await authenticate(base, accountByOutcome('UNTRUSTED_CA'), { hashType: 'SHA384' });
    assert.ok(signatureVerifies(h, status));
    const { cert } = subjectOf(status.cert.value);
    assert.equal(cert.issuer, ca.subject, 'same issuer name as the trusted CA');
    assert.equal(cert.verify(ca.publicKey), false);
    assert.ok(validNow(cert));
  });

  test('CERTIFICATE_LEVEL_MISMATCH: OK with an ADVANCED certificate although QUALIFIED was asked for', async () => {
    const { h, status } = await authenticate(base, accountByOutcome('CERTIFICATE_LEVEL_MISMATCH'));
    assert.ok(signatureVerifies(h, status));
    assert.equal(status.cert.certificateLevel, 'ADVANCED');
    assert.ok(subjectOf(status.cert.value).cert.verify(ca.publicKey));
  });

  test('bad parameters are 400 with {code, message}', async () => {
    const a = accountByOutcome('OK');
    const h = newHash();
    const dt = (type, text) => ({ allowedInteractionsOrder: [{ type, ...text }] });
    const cases = {
      'no relyingPartyUUID': { relyingPartyUUID: undefined },
      'no relyingPartyName': { relyingPartyName: null },
      'no hash': { hash: undefined },
      'no hashType': { hashType: undefined },
      'no allowedInteractionsOrder': { allowedInteractionsOrder: undefined },
      'malformed relyingPartyUUID': { relyingPartyUUID: 'de435d54--' },
      'relyingPartyName over 32 bytes': { relyingPartyName: 'Ä'.repeat(17) },
      'empty relyingPartyName': { relyingPartyName: '' },
      'unknown certificateLevel': { certificateLevel: 'BASIC' },
      'QSCD for authentication': { certificateLevel: 'QSCD' },
      'hash not base64': { hash: 'not base64!' },
      'SHA256 hash of 48 bytes': { hash: crypto.randomBytes(48).toString('base64') },
      'SHA512 hash of 32 bytes': { hashType: 'SHA512' },
      'unknown hashType': { hashType: 'SHA1' },
      'number as hash': { hash: 12345 },
      'empty allowedInteractionsOrder': { allowedInteractionsOrder: [] },
      'allowedInteractionsOrder not an array': { allowedInteractionsOrder: { type: 'displayTextAndPIN', displayText60: 'x' } },
      'unknown interaction': dt('displayTextAndPin', { displayText60: 'x' }),
      'displayText60 over 60 characters': dt('displayTextAndPIN', { displayText60: 'ž'.repeat(61) }),
      'displayTextAndPIN without displayText60': dt('displayTextAndPIN', {}),
      'displayTextAndPIN with displayText200': dt('displayTextAndPIN', { displayText200: 'x' }),
      'verificationCodeChoice with displayText200 only': dt('verificationCodeChoice', { displayText200: 'x' }),
      'confirmationMessage over 200 characters': dt('confirmationMessage', { displayText200: 'a'.repeat(201) }),
      'confirmationMessage with displayText60': dt('confirmationMessage', { displayText60: 'x' }),
      'interaction not an object': { allowedInteractionsOrder: ['displayTextAndPIN'] },
      'empty nonce': { nonce: '' },
      'nonce over 30 characters': { nonce: 'n'.repeat(31) },
      'requestProperties not an object': { requestProperties: ['shareMdClientIpAddress'] },
      'shareMdClientIpAddress not boolean': { requestProperties: { shareMdClientIpAddress: 'yes' } },
      'capabilities not an array': { capabilities: 'ADVANCED' },
    };
    for (const [what, change] of Object.entries(cases)) {
      const r = await call(etsi(base, a), { method: 'POST', body: authBody(h, change) });
      assert.equal(r.status, 400, what);
      assert.deepEqual(Object.keys(r.body), ['code', 'message'], what);
      assert.equal(r.body.code, 400, what);
    }
    assert.equal((await call(etsi(base, a), { method: 'POST', body: '{"oops' })).status, 400);
    assert.equal((await call(etsi(base, a), { method: 'POST', body: '[]' })).status, 400);
    for (const id of ['30303039914', 'pnoee-30303039914', 'PNOEE30303039914', 'XYZEE-30303039914']) {
      assert.equal((await call(`${base}/authentication/etsi/${id}`, { method: 'POST', body: authBody(h) })).status, 400, id);
    }
    // At the limits: accepted.
    for (const change of [
      dt('displayTextAndPIN', { displayText60: 'ž'.repeat(60) }),
      dt('confirmationMessage', { displayText200: 'a'.repeat(200) }),
      dt('confirmationMessageAndVerificationCodeChoice', { displayText200: 'x' }),
      { relyingPartyName: DEMO_RP_NAME.toLowerCase() },
      { certificateLevel: undefined, certificateLevel2: 'ignored unknown field' },
      { nonce: 'n'.repeat(30), capabilities: [], requestProperties: { shareMdClientIpAddress: true } },
    ]) {
      const r = await call(etsi(base, accountByOutcome('OK_UNDER_18')), { method: 'POST', body: authBody(newHash(), change) });
      assert.equal(r.status, 200, `${JSON.stringify(change)}: ${r.text}`);
    }
  });

  test('an unknown relying party is 401; the name is case-insensitive; --qualified-only RP gets 403 for ADVANCED', async () => {
    const a = accountByOutcome('OK');
    for (const change of [{ relyingPartyUUID: 'de305d54-75b4-431b-adb2-eb6b9e546014' }, { relyingPartyName: 'BANK123' }]) {
      for (const op of ['authentication', 'certificatechoice']) {
        const r = await call(etsi(base, a, op), { method: 'POST', body: authBody(newHash(), change) });
        assert.equal(r.status, 401, op);
        assert.equal(r.body.code, 401);
      }
    }
    const r = await call(etsi(base, a), { method: 'POST', body: authBody(newHash(), { relyingPartyName: 'demo' }) });
    assert.equal(r.status, 200);
  });

  test('the same request within 15 s is the same session, unless the nonce differs', async () => {
    const a = accountByOutcome('OK');
    const body = authBody(newHash());
    const first = await call(etsi(base, a), { method: 'POST', body });
    const again = await call(etsi(base, a), { method: 'POST', body });
    assert.equal(again.body.sessionID, first.body.sessionID);
    const withNonce = await call(etsi(base, a), { method: 'POST', body: { ...body, nonce: 'a1' } });
    const otherNonce = await call(etsi(base, a), { method: 'POST', body: { ...body, nonce: 'b2' } });
    assert.notEqual(withNonce.body.sessionID, first.body.sessionID);
    assert.notEqual(otherNonce.body.sessionID, withNonce.body.sessionID);
  });

  test('unsupported requestProperties are listed in ignoredProperties', async () => {
    const { status } = await authenticate(base, accountByOutcome('OK'), {
      extra: { requestProperties: { shareMdClientIpAddress: true, vcChoice: true } },
    });
    assert.deepEqual(status.ignoredProperties, ['vcChoice']);
    assert.equal(status.deviceIpAddress, undefined, 'the DEMO relying party is not allowed the device address');
  });

  test('certificatechoice: the signing certificate and document number, no signature; refusals', async () => {
    const a = accountByOutcome('OK');
    const ccBody = { relyingPartyUUID: DEMO_RP_UUID, relyingPartyName: DEMO_RP_NAME, certificateLevel: 'QSCD' };
    const start = await call(etsi(base, a, 'certificatechoice'), { method: 'POST', body: ccBody });
    assert.equal(start.status, 200, start.text);
    const status = await complete(base, start.body.sessionID);
    assert.deepEqual(Object.keys(status), ['state', 'result', 'cert']);
    assert.deepEqual(status.result, { endResult: 'OK', documentNumber: a.documentNumber });
    assert.equal(status.cert.certificateLevel, 'QUALIFIED');
    const { cert, fields } = subjectOf(status.cert.value);
    assert.ok(cert.verify(ca.publicKey) && validNow(cert));
    assert.deepEqual(fields, expectedSubject(a));
    assert.match(extensionsOf(cert), /Non Repudiation/);
    const auth = await authenticate(base, a);
    assert.notEqual(status.cert.value, auth.status.cert.value, 'not the authentication certificate');

    const byDoc = await call(`${base}/certificatechoice/document/${a.documentNumber}`, { method: 'POST', body: { ...ccBody, nonce: 'x' } });
    assert.equal((await complete(base, byDoc.body.sessionID)).result.endResult, 'OK');
    const refusedCc = await call(etsi(base, accountByOutcome('USER_REFUSED_CERT_CHOICE'), 'certificatechoice'), { method: 'POST', body: ccBody });
    assert.deepEqual(await complete(base, refusedCc.body.sessionID), { state: 'COMPLETE', result: { endResult: 'USER_REFUSED_CERT_CHOICE' } });
    const adv = await call(etsi(base, accountByOutcome('OK_ADVANCED'), 'certificatechoice'), { method: 'POST', body: ccBody });
    assert.equal(adv.status, 471);
    assert.equal((await call(etsi(base, a, 'certificatechoice'), { method: 'POST', body: { ...ccBody, certificateLevel: 'X' } })).status, 400);
  });

  test('unknown sessions are 404, a bad timeoutMs 400, wrong methods 405, unknown paths 404', async () => {
    for (const id of [crypto.randomUUID(), 'not-a-session']) {
      const r = await call(`${base}/session/${id}?timeoutMs=1000`);
      assert.equal(r.status, 404);
      assert.deepEqual(Object.keys(r.body), ['code', 'message']);
    }
    const { sessionID } = await authenticate(base, accountByOutcome('OK'));
    assert.equal((await call(`${base}/session/${sessionID}?timeoutMs=soon`)).status, 400);
    const m = await call(etsi(base, accountByOutcome('OK')));
    assert.equal(m.status, 405);
    assert.equal(m.headers.get('allow'), 'POST, OPTIONS');
    assert.equal((await call(`${base}/session/${sessionID}`, { method: 'POST', body: {} })).status, 405);
    for (const p of ['/session/', '/authentication/pno/EE/30303039914', '/signature/etsi/PNOEE-30303039914', '/nothing']) {
      assert.equal((await call(`${base}${p}`, { method: 'POST', body: {} })).status, 404, p);
    }
  });

  describe('long polling (app answers after 2.5 s, sessions live 1.5 s after completing)', { concurrency: false }, () => {
    test('RUNNING until the clamped timeout, COMPLETE as soon as ready, still COMPLETE after, 404 once expired', async () => {
      const a = accountByOutcome('OK');
      const h = newHash();
      const t0 = Date.now();
      const start = await call(etsi(slow.url, a), { method: 'POST', body: authBody(h) });
      const url = `${slow.url}/session/${start.body.sessionID}`;

      const p1 = Date.now();
      const first = await call(`${url}?timeoutMs=1`); // clamped up to 1000 ms
      const t1 = Date.now() - p1;
      // RUNNING proves it did not wait for the app (2.5 s); the poll's own
      // time proves the clamp (the bounds leave room for a loaded machine)
      assert.deepEqual(first.body, { state: 'RUNNING' });
      assert.ok(t1 >= 950 && t1 < 3000, `RUNNING after the 1000 ms minimum, not at once (${t1} ms)`);

      const second = await call(`${url}?timeoutMs=60000`);
      const t2 = Date.now() - t0;
      assert.equal(second.body.state, 'COMPLETE');
      assert.ok(t2 >= 2450 && t2 < 6000, `answered as soon as the app did, not at the 60 s timeout (${t2} ms)`);
      assert.ok(signatureVerifies(h, second.body));

      const again = await call(`${url}?timeoutMs=1000`);
      assert.deepEqual(again.body, second.body, 'a finished session can be asked again');

      // A newer poll of the same session makes the older one answer RUNNING at once.
      const other = await call(etsi(slow.url, a), { method: 'POST', body: authBody(newHash()) });
      const otherUrl = `${slow.url}/session/${other.body.sessionID}?timeoutMs=10000`;
      const tA = Date.now();
      const older = call(otherUrl).then((r) => ({ ...r, ms: Date.now() - tA }));
      await sleep(200);
      const newer = call(otherUrl);
      const o = await older;
      assert.equal(o.body.state, 'RUNNING');
      assert.ok(o.ms < 900, `older poll answered when the newer came (${o.ms} ms)`);
      assert.equal((await newer).body.state, 'COMPLETE');

      await sleep(Math.max(0, t2 + 1600 - (Date.now() - t0)));
      const gone = await call(`${url}?timeoutMs=1000`);
      assert.equal(gone.status, 404, 'sessions vanish after their lifetime');
    });

    test('exits with 0 on SIGTERM', async () => {
      assert.equal(await slow.stop(), 0);
    });
  });

  test('in-process API: reuses the folder\'s certificates; maintenance (580) and a QUALIFIED-only relying party (403)', async () => {
    const before = fs.readFileSync(path.join(dir, 'sid-ca.pem'), 'utf8');
    const inproc = await startSmartIdSimulator({ dir, delayMs: 0, qualifiedOnly: true });
    try {
      assert.match(inproc.url, /^http:\/\/127\.0\.0\.1:\d+\/smart-id-rp\/v2$/);
      assert.equal(inproc.caFile, path.join(dir, 'sid-ca.pem'));
      assert.equal(fs.readFileSync(inproc.caFile, 'utf8'), before, 'same CA as the child process');
      assert.equal(inproc.accounts, ACCOUNTS);
      const { h, status, sessionID } = await authenticate(inproc.url, accountByOutcome('OK_ALSO_MOBILE_ID'));
      assert.ok(signatureVerifies(h, status));

      const adv = await call(etsi(inproc.url, accountByOutcome('OK_ADVANCED')), {
        method: 'POST', body: authBody(newHash(), { certificateLevel: 'ADVANCED' }),
      });
      assert.equal(adv.status, 403);

      inproc.setMaintenance(true);
      assert.equal((await call(etsi(inproc.url, accountByOutcome('OK')), { method: 'POST', body: authBody(newHash()) })).status, 580);
      assert.equal((await call(`${inproc.url}/session/${sessionID}?timeoutMs=1000`)).status, 580);
      inproc.setMaintenance(false);
      assert.equal((await call(`${inproc.url}/session/${sessionID}?timeoutMs=1000`)).status, 200);
    } finally {
      await inproc.stop();
    }
  });
});
