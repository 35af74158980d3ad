// Tests of the Mobile-ID (MID REST API) simulator itself, over real HTTP
// against it running as a child process: every citizen's outcome, request
// validation (400/401/404/405), long polling, and that what it returns passes
// (or, for the faulty citizens, fails) exactly the checks a relying party must
// make, verified here with node:crypto only.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { freePort, tmpdir } from '../lib/harness.mjs';
import {
  CITIZENS, DEMO_RP_NAME, DEMO_RP_UUID, RESULTS, citizenByOutcome, startMobileIdSimulator, verificationCode,
} from '../sim/mobile-id.mjs';
import { ageOn, personalCodeInfo } from '../sim/test-ca.mjs';

const SIM = path.resolve(import.meta.dirname, '../sim/mobile-id.mjs');
const NODE_HASH = { SHA256: 'sha256', SHA384: 'sha384', SHA512: 'sha512' };
const DIGEST_INFO = {
  SHA256: '3031300d060960864801650304020105000420',
  SHA384: '3041300d060960864801650304020205000430',
  SHA512: '3051300d060960864801650304020305000440',
};
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
    const t = setTimeout(() => reject(new Error(`simulator not ready in 20 s: ${stderr}`)), 20000);
    proc.stdout.on('data', (d) => {
      stdout += d;
      if (stdout.includes('\n')) { clearTimeout(t); resolve(stdout.split('\n')[0]); }
    });
    proc.on('exit', (code) => { clearTimeout(t); reject(new Error(`simulator exited with ${code}: ${stderr}`)); });
  });
  const url = `http://127.0.0.1:${port}/mid-api`;
  return {
    proc, url, line,
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

function authBody(c, h, extra = {}) {
  return {
    relyingPartyUUID: DEMO_RP_UUID, relyingPartyName: DEMO_RP_NAME, phoneNumber: c.phone,
    nationalIdentityNumber: c.personalCode, hash: h.hash.toString('base64'), hashType: h.hashType,
    language: 'EST', displayText: 'eidhub test', displayTextFormat: 'GSM-7', ...extra,
  };
}

/** Starts an authentication of citizen c and long-polls it to COMPLETE. */
async function authenticate(base, c, hashType = 'SHA256') {
  const h = newHash(hashType);
  const start = await call(`${base}/authentication`, { method: 'POST', body: authBody(c, h) });
  assert.equal(start.status, 200, start.text);
  assert.match(start.body.sessionID, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  let status;
  for (let i = 0; i < 10; i++) {
    status = await call(`${base}/authentication/session/${start.body.sessionID}?timeoutMs=5000`);
    assert.equal(status.status, 200, status.text);
    if (status.body.state === 'COMPLETE') break;
  }
  assert.equal(status.body.state, 'COMPLETE');
  assert.match(status.body.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/);
  assert.match(status.body.traceId, /^[0-9a-f]{16}$/);
  return { h, sessionID: start.body.sessionID, status: status.body };
}

/** True if signature (as MID returns it) is a valid signature over exactly h.hash by cert's key. */
function signatureVerifies(h, status) {
  const cert = new crypto.X509Certificate(Buffer.from(status.cert, 'base64'));
  const sig = Buffer.from(status.signature.value, 'base64');
  if (cert.publicKey.asymmetricKeyType === 'rsa') {
    // PKCS#1 v1.5: the signature opens to DigestInfo(hashType) || the hash that was sent.
    const opened = crypto.publicDecrypt({ key: cert.publicKey, padding: crypto.constants.RSA_PKCS1_PADDING }, sig);
    const expected = Buffer.concat([Buffer.from(DIGEST_INFO[h.hashType], 'hex'), h.hash]);
    const verifies = crypto.verify(NODE_HASH[h.hashType], h.message, cert.publicKey, sig);
    assert.equal(verifies, opened.equals(expected));
    return verifies;
  }
  // ECDSA: the value is raw r||s (IEEE P1363), 64 bytes on P-256.
  assert.equal(sig.length, 64);
  return crypto.verify(NODE_HASH[h.hashType], h.message, { key: cert.publicKey, dsaEncoding: 'ieee-p1363' }, sig);
}

function subjectOf(certB64) {
  const cert = new crypto.X509Certificate(Buffer.from(certB64, 'base64'));
  const fields = Object.fromEntries(cert.subject.split('\n').map((l) => {
    const i = l.indexOf('=');
    return [l.slice(0, i), l.slice(i + 1).replaceAll('\\,', ',')];
  }));
  return { cert, fields };
}

const validNow = (cert) => Date.parse(cert.validFrom) <= Date.now() && Date.now() <= Date.parse(cert.validTo);

describe('Mobile-ID simulator', () => {
  let dir;
  let sim;
  let base;
  let ca;

  before(async () => {
    dir = tmpdir('eidhub-mid-sim-test-');
    sim = await spawnSimulator(dir, '--delay-ms', '0');
    base = sim.url;
    ca = new crypto.X509Certificate(fs.readFileSync(path.join(dir, 'mid-ca.pem')));
  });
  after(async () => {
    assert.equal(await sim?.stop(), 0, 'exits cleanly on SIGTERM');
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('prints its ready line and writes the trusted CA', () => {
    assert.match(sim.line, /^mobile-id simulator listening on http:\/\/127\.0\.0\.1:\d+\/mid-api$/);
    assert.equal(sim.line, `mobile-id simulator listening on ${base}`);
    assert.ok(ca.ca, 'mid-ca.pem is a CA certificate');
    assert.ok(validNow(ca));
    assert.ok(ca.verify(ca.publicKey), 'self-signed');
  });

  test('the citizens table is consistent', () => {
    const outcomes = new Set(CITIZENS.map((c) => c.outcome));
    assert.equal(outcomes.size, CITIZENS.length, 'outcomes are unique');
    assert.equal(new Set(CITIZENS.map((c) => `${c.phone}/${c.personalCode}`)).size, CITIZENS.length);
    for (const o of ['OK', 'OK_EC', 'WRONG_SIGNATURE', 'EXPIRED_CERTIFICATE', 'OTHER_PERSON_CERTIFICATE', 'UNTRUSTED_CA', ...RESULTS]) {
      assert.ok(outcomes.has(o), `a citizen for ${o}`);
    }
    for (const c of CITIZENS) {
      assert.match(c.phone, /^\+\d{7,15}$/);
      const info = personalCodeInfo(c.personalCode);
      assert.ok(info, `${c.personalCode} has a valid checksum and date`);
      assert.equal(c.dateOfBirth, info.dateOfBirth);
      assert.equal(c.sex, info.sex);
      assert.ok(Date.parse(c.dateOfBirth) < Date.now(), 'born in the past');
      if (c.certPerson) assert.ok(personalCodeInfo(c.certPerson.personalCode));
    }
    const ages = CITIZENS.map((c) => ageOn(c.dateOfBirth));
    assert.ok(ages.some((a) => a < 18) && ages.some((a) => a >= 18), 'some under 18 and some adults');
    assert.ok(CITIZENS.some((c) => c.sex === 'M') && CITIZENS.some((c) => c.sex === 'F'));
    assert.ok(ageOn(citizenByOutcome('OK_UNDER_18').dateOfBirth) < 18);
    assert.deepEqual(CITIZENS.filter((c) => c.authenticates).map((c) => c.outcome), ['OK', 'OK_EC', 'OK_UNDER_18']);
    assert.throws(() => citizenByOutcome('NO_SUCH_OUTCOME'));
  });

  test('verification code follows the spec vector', () => {
    assert.equal(verificationCode(Buffer.from('2f665f6a6999e0ef0752e00ec9f453adf59d8cb6', 'hex')), '1462');
    assert.equal(verificationCode(Buffer.alloc(32)), '0000');
  });

  for (const outcome of ['OK', 'OK_EC', 'OK_UNDER_18']) {
    test(`${outcome}: signature over exactly the sent hash, certificate of the person, chained to mid-ca.pem`, async () => {
      const c = citizenByOutcome(outcome);
      for (const hashType of ['SHA256', 'SHA384', 'SHA512']) {
        const { h, status } = await authenticate(base, c, hashType);
        assert.deepEqual(Object.keys(status), ['state', 'result', 'signature', 'cert', 'time', 'traceId']);
        assert.equal(status.result, 'OK');
        const { cert, fields } = subjectOf(status.cert);
        const keyType = cert.publicKey.asymmetricKeyType;
        assert.equal(keyType, c.keyType);
        assert.equal(status.signature.algorithm, `${hashType}With${keyType === 'rsa' ? 'RSA' : 'EC'}Encryption`);
        assert.ok(signatureVerifies(h, status), `${hashType} signature verifies`);
        assert.ok(cert.verify(ca.publicKey), 'issued by the trusted CA');
        assert.equal(cert.issuer, ca.subject);
        assert.ok(validNow(cert));
        assert.deepEqual(fields, {
          C: 'EE',
          CN: `${c.surname.toUpperCase()},${c.givenName.toUpperCase()},PNOEE-${c.personalCode}`,
          SN: c.surname.toUpperCase(),
          GN: c.givenName.toUpperCase(),
          serialNumber: `PNOEE-${c.personalCode}`,
        });
      }
    });
  }

  for (const result of RESULTS.filter((r) => r !== 'OK')) {
    test(`${result}: COMPLETE with that result and no signature`, async () => {
      const { status } = await authenticate(base, citizenByOutcome(result));
      assert.deepEqual(Object.keys(status), ['state', 'result', 'time', 'traceId']);
      assert.equal(status.result, result);
    });
  }

  test('WRONG_SIGNATURE: result OK, trusted certificate, signature not over the sent hash', async () => {
    const { h, status } = await authenticate(base, citizenByOutcome('WRONG_SIGNATURE'));
    assert.equal(status.result, 'OK');
    const { cert } = subjectOf(status.cert);
    assert.ok(cert.verify(ca.publicKey) && validNow(cert));
    assert.equal(signatureVerifies(h, status), false);
  });

  test('EXPIRED_CERTIFICATE: valid signature, trusted but expired certificate', async () => {
    const c = citizenByOutcome('EXPIRED_CERTIFICATE');
    const { h, status } = await authenticate(base, c, 'SHA512');
    assert.equal(status.result, 'OK');
    assert.ok(signatureVerifies(h, status));
    const { cert, fields } = subjectOf(status.cert);
    assert.ok(cert.verify(ca.publicKey));
    assert.ok(Date.parse(cert.validTo) < Date.now(), 'expired');
    assert.equal(fields.serialNumber, `PNOEE-${c.personalCode}`);
  });

  test('OTHER_PERSON_CERTIFICATE: valid signature and chain, but another person\'s identity', async () => {
    const c = citizenByOutcome('OTHER_PERSON_CERTIFICATE');
    const { h, status } = await authenticate(base, c);
    assert.ok(signatureVerifies(h, status));
    const { cert, fields } = subjectOf(status.cert);
    assert.ok(cert.verify(ca.publicKey) && validNow(cert));
    assert.notEqual(fields.serialNumber, `PNOEE-${c.personalCode}`);
    assert.equal(fields.serialNumber, `PNOEE-${c.certPerson.personalCode}`);
  });

  test('UNTRUSTED_CA: valid signature, look-alike issuer name, not signed by mid-ca.pem', async () => {
    const { h, status } = await authenticate(base, citizenByOutcome('UNTRUSTED_CA'), 'SHA384');
    assert.ok(signatureVerifies(h, status));
    const { cert } = subjectOf(status.cert);
    assert.equal(cert.issuer, ca.subject, 'same issuer name as the trusted CA');
    assert.equal(cert.verify(ca.publicKey), false);
    assert.ok(validNow(cert));
  });

  test('an unknown phone/code pair is NOT_MID_CLIENT, and so is a known phone with another code', async () => {
    const ok = citizenByOutcome('OK');
    for (const c of [{ phone: '+37255555555', personalCode: '38001085718' }, { phone: ok.phone, personalCode: '38001085718' }]) {
      const { status } = await authenticate(base, c);
      assert.equal(status.result, 'NOT_MID_CLIENT');
      assert.equal(status.signature, undefined);
    }
  });

  test('bad parameters are 400 with {error, time, traceId}', async () => {
    const c = citizenByOutcome('OK');
    const h = newHash();
    const cases = {
      'no relyingPartyUUID': { relyingPartyUUID: undefined },
      'no relyingPartyName': { relyingPartyName: null },
      'no phoneNumber': { phoneNumber: undefined },
      'no nationalIdentityNumber': { nationalIdentityNumber: undefined },
      'no hash': { hash: undefined },
      'no hashType': { hashType: undefined },
      'no language': { language: undefined },
      'malformed relyingPartyUUID': { relyingPartyUUID: 'de435d54--' },
      'over-long relyingPartyName': { relyingPartyName: 'x'.repeat(101) },
      'phone number without +': { phoneNumber: '37200000766' },
      'phone number too short': { phoneNumber: '0000' },
      'personal code of 10 digits': { nationalIdentityNumber: '6000101990' },
      'personal code with letters': { nationalIdentityNumber: '6000101990X' },
      'hash not base64': { hash: 'not base64!' },
      'SHA256 hash of 48 bytes': { hash: crypto.randomBytes(48).toString('base64') },
      'SHA512 hash of 32 bytes': { hashType: 'SHA512' },
      'unknown hashType': { hashType: 'SHA1' },
      'unknown language': { language: 'FIN' },
      'displayText over 100 characters': { displayText: 'a'.repeat(101) },
      'UCS-2 displayText over 50 characters': { displayText: 'ž'.repeat(51), displayTextFormat: 'UCS-2' },
      'unknown displayTextFormat': { displayTextFormat: 'ASCII' },
      'number as phoneNumber': { phoneNumber: 37200000766 },
    };
    for (const [what, change] of Object.entries(cases)) {
      const r = await call(`${base}/authentication`, { method: 'POST', body: authBody(c, h, change) });
      assert.equal(r.status, 400, what);
      assert.deepEqual(Object.keys(r.body), ['error', 'time', 'traceId'], what);
      assert.ok(r.body.error.length > 0, what);
    }
    assert.equal((await call(`${base}/authentication`, { method: 'POST', body: authBody(c, h, { hash: 'AAAA' }) })).body.error,
      'The length of the hash must match the type of hash');
    assert.equal((await call(`${base}/authentication`, { method: 'POST', body: '{"oops' })).status, 400);
    assert.equal((await call(`${base}/authentication`, { method: 'POST', body: '[]' })).status, 400);
    // At the limits: accepted.
    for (const change of [{ displayText: 'a'.repeat(100) }, { displayText: 'ž'.repeat(50), displayTextFormat: 'UCS-2' },
      { displayText: undefined, displayTextFormat: undefined }]) {
      assert.equal((await call(`${base}/authentication`, { method: 'POST', body: authBody(c, h, change) })).status, 200);
    }
  });

  test('an unknown relying party is 401; the name is case-insensitive', async () => {
    const c = citizenByOutcome('OK');
    const h = newHash();
    for (const change of [{ relyingPartyUUID: 'de305d54-75b4-431b-adb2-eb6b9e546014' }, { relyingPartyName: 'BANK123' }]) {
      for (const endpoint of ['authentication', 'certificate']) {
        const r = await call(`${base}/${endpoint}`, { method: 'POST', body: authBody(c, h, change) });
        assert.equal(r.status, 401);
        assert.equal(r.body.error, 'Failed to authorize user');
        assert.match(r.body.traceId, /^[0-9a-f]{16}$/);
      }
    }
    const r = await call(`${base}/authentication`, { method: 'POST', body: authBody(c, h, { relyingPartyName: 'demo' }) });
    assert.equal(r.status, 200);
  });

  test('unknown sessions are 404, a missing session id 400, wrong methods 405', async () => {
    for (const id of [crypto.randomUUID(), 'not-a-session']) {
      const r = await call(`${base}/authentication/session/${id}?timeoutMs=1000`);
      assert.equal(r.status, 404);
      assert.equal(r.body.error, 'SessionID not found');
      assert.ok(r.body.time && r.body.traceId);
    }
    assert.equal((await call(`${base}/authentication/session/`)).status, 400);
    const m = await call(`${base}/authentication`);
    assert.equal(m.status, 405);
    assert.equal(m.headers.get('allow'), 'POST, OPTIONS');
    assert.equal((await call(`${base}/certificate`)).status, 405);
    assert.equal((await call(`${base}/authentication/session/x`, { method: 'POST', body: {} })).status, 405);
    assert.equal((await call(`${base}/nothing`)).status, 404);
    assert.match((await call(`${base}/version`)).text, /^Version: /);
  });

  test('POST /certificate: the signing certificate, NOT_FOUND, NOT_ACTIVE', async () => {
    const h = newHash();
    const certOf = (c) => call(`${base}/certificate`, { method: 'POST', body: authBody(c, h) });
    const ok = citizenByOutcome('OK');
    const r = await certOf(ok);
    assert.equal(r.status, 200);
    assert.deepEqual(Object.keys(r.body), ['result', 'cert', 'time', 'traceId']);
    assert.equal(r.body.result, 'OK');
    const { cert, fields } = subjectOf(r.body.cert);
    assert.equal(fields.serialNumber, `PNOEE-${ok.personalCode}`);
    assert.ok(cert.verify(ca.publicKey) && validNow(cert));
    // It is the signing certificate, not the authentication one.
    const { status } = await authenticate(base, ok);
    assert.notEqual(r.body.cert, status.cert);

    assert.deepEqual(Object.keys((await certOf(citizenByOutcome('NOT_MID_CLIENT'))).body), ['result', 'time', 'traceId']);
    assert.equal((await certOf(citizenByOutcome('NOT_MID_CLIENT'))).body.result, 'NOT_FOUND');
    assert.equal((await certOf({ phone: '+37255555555', personalCode: '38001085718' })).body.result, 'NOT_FOUND');
    assert.equal((await certOf(citizenByOutcome('EXPIRED_CERTIFICATE'))).body.result, 'NOT_ACTIVE');
    assert.equal((await certOf(citizenByOutcome('USER_CANCELLED'))).body.result, 'OK');
    const bad = await call(`${base}/certificate`, { method: 'POST', body: authBody(ok, h, { phoneNumber: '0000' }) });
    assert.equal(bad.status, 400);
  });

  describe('long polling (phone answers after 1.5 s, sessions live 3 s)', () => {
    let slow;
    before(async () => {
      slow = await spawnSimulator(dir, '--delay-ms', '1500', '--session-ttl-ms', '3000');
    });
    after(async () => { await slow?.stop(); });

    test('RUNNING until the clamped timeout, COMPLETE as soon as ready, still COMPLETE after, 404 once expired', async () => {
      const c = citizenByOutcome('OK_EC');
      const h = newHash();
      const t0 = Date.now();
      const start = await call(`${slow.url}/authentication`, { method: 'POST', body: authBody(c, h) });
      const id = start.body.sessionID;
      const url = `${slow.url}/authentication/session/${id}`;

      const first = await call(`${url}?timeoutMs=1`); // clamped up to 1000 ms
      const t1 = Date.now() - t0;
      assert.deepEqual(Object.keys(first.body), ['state', 'time', 'traceId']);
      assert.equal(first.body.state, 'RUNNING');
      assert.ok(t1 >= 950 && t1 < 1450, `RUNNING after the 1000 ms minimum, not at once (${t1} ms)`);

      const second = await call(`${url}?timeoutMs=60000`);
      const t2 = Date.now() - t0;
      assert.equal(second.body.state, 'COMPLETE');
      assert.ok(t2 >= 1450 && t2 < 2500, `answered as soon as the phone did (${t2} ms)`);
      assert.ok(signatureVerifies(h, second.body));

      const again = await call(`${url}?timeoutMs=1000`);
      assert.equal(again.body.state, 'COMPLETE', 'a finished session can be asked again');
      assert.equal(again.body.signature.value, second.body.signature.value);

      // A newer poll of the same session makes the older one answer RUNNING at once.
      const other = await call(`${slow.url}/authentication`, { method: 'POST', body: authBody(c, newHash()) });
      const otherUrl = `${slow.url}/authentication/session/${other.body.sessionID}?timeoutMs=10000`;
      const tA = Date.now();
      const older = call(otherUrl).then((r) => ({ ...r, ms: Date.now() - tA }));
      await sleep(200);
      const newer = call(otherUrl);
      const o = await older;
      assert.equal(o.body.state, 'RUNNING');
      assert.ok(o.ms < 900, `older poll answered when the newer came (${o.ms} ms)`);
      assert.equal((await newer).body.state, 'COMPLETE');

      await sleep(Math.max(0, 3100 - (Date.now() - t0)));
      const gone = await call(`${url}?timeoutMs=1000`);
      assert.equal(gone.status, 404, 'sessions vanish after their lifetime');
    });

    test('exits with 0 on SIGTERM', async () => {
      assert.equal(await slow.stop(), 0);
    });
  });

  test('in-process API: startMobileIdSimulator reuses the folder\'s certificates', async () => {
    const before = fs.readFileSync(path.join(dir, 'mid-ca.pem'), 'utf8');
    const inproc = await startMobileIdSimulator({ dir, delayMs: 0 });
    try {
      assert.match(inproc.url, /^http:\/\/127\.0\.0\.1:\d+\/mid-api$/);
      assert.equal(inproc.caFile, path.join(dir, 'mid-ca.pem'));
      assert.equal(fs.readFileSync(inproc.caFile, 'utf8'), before, 'same CA as the child process');
      assert.equal(inproc.citizens, CITIZENS);
      const { h, status } = await authenticate(inproc.url, citizenByOutcome('OK'));
      assert.ok(signatureVerifies(h, status));
    } finally {
      await inproc.stop();
    }
  });
});
