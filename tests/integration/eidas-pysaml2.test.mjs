// Interoperability of eidhub's eIDAS Proxy-Service with an independent SAML
// implementation: a foreign eIDAS Connector written with pysaml2
// (tests/sim/pysaml2-connector.py, Debian's python3-pysaml2 and xmlsec1)
// sends signed AuthnRequests to eidhub (real nginx + module, real Redis),
// an Estonian citizen logs in with Mobile-ID (the simulator), and pysaml2
// checks eidhub's signed Response and decrypts its signed assertion. Also:
// pysaml2 rejects a tampered Response (so it really checks), and eidhub
// refuses pysaml2's RSA PKCS#1 v1.5 signature. See docs/eidas.md.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Agent } from '../lib/agent.mjs';
import {
  ROOT, freePort, mobileIdSettings, startBroker, startMobileIdSim, startRedis, tmpdir, waitForPort,
} from '../lib/harness.mjs';
import { mobileId } from '../lib/oidc-flow.mjs';
import { citizenByOutcome } from '../sim/mobile-id.mjs';

const PYTHON = '/usr/bin/python3'; // Debian's, with python3-pysaml2 (the PATH's python may lack it)
const PEER_SCRIPT = path.join(ROOT, 'tests/sim/pysaml2-connector.py');
const NP = 'http://eidas.europa.eu/attributes/naturalperson/';
const OUR_COUNTRY = 'EE';
const PEER_COUNTRY = 'LV';

const havePysaml2 = spawnSync(PYTHON, ['-c', 'import saml2'], { encoding: 'utf8' }).status === 0
  && spawnSync('xmlsec1', ['--version'], { encoding: 'utf8' }).status === 0;

let redis, sim, broker, peer, keysDir;

function openssl(...args) {
  const r = spawnSync('openssl', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl ${args[0]} failed: ${r.stderr}`);
}

/** eidhub's eIDAS node keys: EC P-256 signing, RSA-3072 encryption, self-signed certificates. */
function nodeKeys(dir) {
  const f = (n) => path.join(dir, n);
  openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', f('saml-sign.pem'));
  openssl('req', '-x509', '-new', '-key', f('saml-sign.pem'), '-out', f('saml-sign.crt'), '-days', '30', '-sha256',
    '-subj', '/C=EE/O=eidhub test/CN=eidhub Proxy-Service signing');
  openssl('genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:3072', '-out', f('saml-enc.pem'));
  openssl('req', '-x509', '-new', '-key', f('saml-enc.pem'), '-out', f('saml-enc.crt'), '-days', '30', '-sha256',
    '-subj', '/C=EE/O=eidhub test/CN=eidhub Proxy-Service encryption');
  return {
    country: OUR_COUNTRY,
    signing_key_file: f('saml-sign.pem'), signing_cert_file: f('saml-sign.crt'),
    encryption_key_file: f('saml-enc.pem'), encryption_cert_file: f('saml-enc.crt'),
  };
}

/** Starts the pysaml2 Connector on a free port; it fetches eidhub's metadata at its first /start. */
async function startPeer(idpMetadataUrl, idpCert) {
  const dir = tmpdir('eidhub-pysaml2-');
  const port = await freePort();
  const proc = spawn(PYTHON, [PEER_SCRIPT, '--port', String(port), '--dir', dir, '--idp-metadata-url', idpMetadataUrl,
    '--idp-cert', idpCert, '--country', PEER_COUNTRY], { stdio: ['ignore', 'pipe', 'pipe'] });
  const out = fs.createWriteStream(path.join(dir, 'peer.out'));
  proc.stdout.pipe(out);
  proc.stderr.pipe(out);
  const kill = () => { try { process.kill(proc.pid, 'SIGKILL'); } catch { /* gone */ } };
  process.on('exit', kill);
  await waitForPort(port, proc, 'pysaml2 connector', 60000); // first start makes two RSA-3072 keys
  return {
    url: `http://127.0.0.1:${port}`, dir, pid: proc.pid,
    signingCert: path.join(dir, 'sign-ec.crt'),
    log() { try { return fs.readFileSync(path.join(dir, 'pysaml2.log'), 'utf8'); } catch { return ''; } },
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        const gone = new Promise((resolve) => proc.once('exit', resolve));
        process.kill(proc.pid, 'SIGTERM');
        await gone;
      }
      process.removeListener('exit', kill);
      if (!process.env.EH_KEEP_PYSAML2) fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

const ENTITIES = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", '#39': "'", '#x27': "'", '#x2F': '/', '#43': '+', '#x2B': '+', '#61': '=', '#x3D': '=' };
const unescape = (s) => s.replace(/&(#?\w+);/g, (m, e) => ENTITIES[e] ?? (e.startsWith('#x') ? String.fromCodePoint(parseInt(e.slice(2), 16))
  : e.startsWith('#') ? String.fromCodePoint(Number(e.slice(1))) : m));

/** An HTML page's first form: its action and the values of its hidden inputs (any attribute order). */
function readForm(html) {
  const form = html.match(/<form\b[^>]*>/i);
  assert.ok(form, `no form in page: ${html.slice(0, 500)}`);
  const action = form[0].match(/\baction\s*=\s*"([^"]*)"/i)?.[1];
  assert.ok(action, 'the form has an action');
  assert.match(form[0], /method\s*=\s*"post"/i);
  const fields = {};
  for (const input of html.match(/<input\b[^>]*>/gi) ?? []) {
    const name = input.match(/\bname\s*=\s*"([^"]*)"/i)?.[1];
    const value = input.match(/\bvalue\s*=\s*"([^"]*)"/i)?.[1];
    if (name && value !== undefined) fields[unescape(name)] = unescape(value);
  }
  return { action: unescape(action), fields };
}

/** The pysaml2 Connector's /start: its auto-post form to eidhub and the request's ID. */
async function startAtPeer({ loa = 'substantial', sig = 'ecdsa-sha256', acs } = {}) {
  const res = await fetch(`${peer.url}/start?loa=${loa}&sig=${sig}${acs ? `&acs=${encodeURIComponent(acs)}` : ''}`);
  const text = await res.text();
  assert.equal(res.status, 200, `${text}\n${peer.log().slice(-3000)}`);
  const requestId = res.headers.get('x-request-id');
  assert.ok(requestId);
  return { requestId, ...readForm(text) };
}

/** Posts a form to the pysaml2 Connector's ACS; returns {status, body (JSON)}. */
async function postToPeer(action, fields) {
  const res = await fetch(action, { method: 'POST', body: new URLSearchParams(fields), redirect: 'manual' });
  const text = await res.text();
  let body;
  try { body = JSON.parse(text); } catch { body = { raw: text }; }
  return { status: res.status, body };
}

const XMLSEC_TEMPLATE = `<xenc:EncryptedData xmlns:xenc="http://www.w3.org/2001/04/xmlenc#" Type="http://www.w3.org/2001/04/xmlenc#Element">
<xenc:EncryptionMethod Algorithm="http://www.w3.org/2009/xmlenc11#aes256-gcm"/>
<ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><xenc:EncryptedKey>
<xenc:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p"/>
<xenc:CipherData><xenc:CipherValue/></xenc:CipherData></xenc:EncryptedKey></ds:KeyInfo>
<xenc:CipherData><xenc:CipherValue/></xenc:CipherData>
</xenc:EncryptedData>`;

/**
 * What an attacker holding eidhub's signing key but not its assertion
 * signature would make (the test has both keys): eidhub's Response (base64)
 * with its assertion decrypted with the Connector's key, passed to edit,
 * encrypted again for the Connector and the Response signed again with
 * eidhub's key (xmlsec1 CLI). Returns the new base64.
 */
function reassemble(b64, edit) {
  const dir = fs.mkdtempSync(path.join(keysDir, 'craft-'));
  const f = (n) => path.join(dir, n);
  const xmlsec = (...args) => {
    const r = spawnSync('xmlsec1', args, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`xmlsec1 ${args[0]} failed: ${r.stderr}`);
  };
  fs.writeFileSync(f('response.xml'), Buffer.from(b64, 'base64'));
  xmlsec('--decrypt', '--privkey-pem', path.join(peer.dir, 'enc-rsa.pem'), '--output', f('plain.xml'), f('response.xml'));
  const plain = fs.readFileSync(f('plain.xml'), 'utf8');
  assert.match(plain, /<saml:Assertion\b/);
  fs.writeFileSync(f('edited.xml'), edit(plain));
  fs.writeFileSync(f('template.xml'), XMLSEC_TEMPLATE);
  xmlsec('--encrypt', '--pubkey-cert-pem', path.join(peer.dir, 'enc-rsa.crt'), '--session-key', 'aes-256',
    '--xml-data', f('edited.xml'), '--node-xpath', "//*[local-name()='Assertion']", '--output', f('encrypted.xml'), f('template.xml'));
  xmlsec('--sign', '--privkey-pem', path.join(keysDir, 'saml-sign.pem'), '--id-attr:ID', 'urn:oasis:names:tc:SAML:2.0:protocol:Response',
    '--output', f('signed.xml'), f('encrypted.xml'));
  const out = fs.readFileSync(f('signed.xml'));
  fs.rmSync(dir, { recursive: true, force: true });
  return out.toString('base64');
}

/**
 * A whole journey up to eidhub's answer: the Connector's request is posted
 * to eidhub's SSO, the citizen chooses Mobile-ID and logs in, and eidhub's
 * auto-post form to the Connector's ACS is read. Returns the request and
 * that form.
 */
async function loginThroughEidhub(citizen, options) {
  const request = await startAtPeer(options);
  assert.equal(request.action, `${broker.url}/saml/proxy/sso`, 'pysaml2 posts to the SSO URL of our metadata');
  const agent = new Agent(broker.url);
  const sso = await agent.post(request.action, request.fields);
  assert.equal(sso.status, 303, `eidhub accepted the AuthnRequest: ${sso.status} ${sso.text.slice(0, 800)}\n${broker.errorLog().slice(-2000)}`);
  assert.equal(new URL(sso.location).pathname, '/login');
  const login = await agent.get('/login');
  assert.equal(login.status, 200);
  assert.match(login.text, /pysaml2 Connector/, 'the Connector is named on the method choice page');
  let answer = await mobileId(agent, citizen);
  for (let hops = 0; answer.status === 303 && hops < 5; hops++) {
    assert.equal(new URL(answer.location).origin, broker.url, 'eidhub answers through its own pages, not a redirect to the Connector');
    answer = await agent.get(answer.location);
  }
  assert.equal(answer.status, 200, answer.text.slice(0, 800));
  const form = readForm(answer.text);
  assert.equal(form.action, `${peer.url}/acs`, "the ACS of the Connector's metadata");
  assert.ok(form.fields.SAMLResponse, 'a SAMLResponse');
  assert.equal(form.fields.RelayState, request.fields.RelayState, 'RelayState comes back unchanged');
  return { request, form };
}

// ./dev installs python3-pysaml2 and xmlsec1; elsewhere the suite is skipped
// without them, but never in CI, where a skip would hide a missing install.
if (!havePysaml2 && process.env.CI) throw new Error('CI: /usr/bin/python3 with pysaml2 and xmlsec1 are required');

describe('eIDAS Proxy-Service with a pysaml2 Connector', { skip: havePysaml2 ? false : 'needs /usr/bin/python3 with pysaml2, and xmlsec1' }, () => {
  before(async () => {
    keysDir = tmpdir('eidhub-saml-keys-');
    const saml = nodeKeys(keysDir);
    const port = await freePort();
    const issuer = `http://127.0.0.1:${port}`;
    redis = await startRedis();
    sim = await startMobileIdSim();
    peer = await startPeer(`${issuer}/saml/proxy/metadata`, saml.signing_cert_file);
    broker = await startBroker({
      port,
      store: redis.url,
      broker: {
        saml,
        eidas_proxy: {
          connectors: [{
            id: 'py', metadata: `${peer.url}/metadata`, trust_anchor_file: peer.signingCert,
            policy: 'full', display_name: 'pysaml2 Connector',
          }],
        },
        backends: { mobile_id: mobileIdSettings(sim) },
      },
    });
  });

  after(async () => {
    await peer?.stop();
    await broker?.stop();
    await sim?.stop();
    await redis?.stop();
    if (keysDir) fs.rmSync(keysDir, { recursive: true, force: true });
  });

  test("eidhub's Proxy-Service metadata: signed (ECDSA), verified by xmlsec1 with our certificate only", async () => {
    const res = await fetch(`${broker.url}/saml/proxy/metadata`);
    assert.equal(res.status, 200);
    const xml = await res.text();
    const file = path.join(keysDir, 'proxy-metadata.xml');
    fs.writeFileSync(file, xml);
    const verify = (cert) => spawnSync('xmlsec1', ['--verify', '--enabled-reference-uris', 'empty,same-doc',
      '--pubkey-cert-pem', cert, '--id-attr:ID', 'urn:oasis:names:tc:SAML:2.0:metadata:EntityDescriptor', file], { encoding: 'utf8' });
    const good = verify(path.join(keysDir, 'saml-sign.crt'));
    assert.equal(good.status, 0, good.stderr);
    assert.notEqual(verify(peer.signingCert).status, 0, 'another key does not verify it');
    assert.match(xml, /xmldsig-more#ecdsa-sha256/);
    assert.match(xml, new RegExp(`entityID="${broker.url}/saml/proxy/metadata"`));
    assert.match(xml, new RegExp(`<(\\w+:)?NodeCountry>${OUR_COUNTRY}<`));
    assert.match(xml, new RegExp(`Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"[^>]*Location="${broker.url}/saml/proxy/sso"|Location="${broker.url}/saml/proxy/sso"[^>]*Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"`));
  });

  test("pysaml2 verifies eidhub's metadata, and eidhub's signed Response with an encrypted, signed assertion", async () => {
    const citizen = citizenByOutcome('OK_EC');
    const { request, form } = await loginThroughEidhub(citizen, { loa: 'substantial' });
    const xml = Buffer.from(form.fields.SAMLResponse, 'base64').toString('utf8');
    assert.match(xml, /EncryptedAssertion/);
    assert.match(xml, /http:\/\/www\.w3\.org\/2009\/xmlenc11#aes256-gcm/);
    assert.match(xml, /http:\/\/www\.w3\.org\/2001\/04\/xmlenc#rsa-oaep-mgf1p/);
    assert.match(xml, /http:\/\/www\.w3\.org\/2001\/04\/xmldsig-more#ecdsa-sha256/);
    assert.doesNotMatch(xml, new RegExp(citizen.personalCode), 'no personal data in clear');

    const { status, body } = await postToPeer(form.action, form.fields);
    assert.equal(status, 200, `pysaml2 refused eidhub's response: ${JSON.stringify(body)}\n${peer.log().slice(-4000)}`);
    assert.equal(body.ok, true);
    assert.equal(body.issuer, `${broker.url}/saml/proxy/metadata`);
    assert.equal(body.in_response_to, request.requestId);
    assert.equal(body.relay_state_matches, true);
    assert.equal(body.response_signed, true);
    assert.equal(body.assertion_signed, true);
    assert.equal(body.assertion_encrypted, true);
    assert.equal(body.authn_context, 'http://eidas.europa.eu/LoA/high', 'Mobile-ID is high, above the substantial asked');
    const a = body.attributes;
    assert.deepEqual(a[`${NP}PersonIdentifier`], [`${OUR_COUNTRY}/${PEER_COUNTRY}/${citizen.personalCode}`]);
    assert.equal(a[`${NP}CurrentFamilyName`]?.[0]?.toUpperCase(), citizen.surname.toUpperCase());
    assert.equal(a[`${NP}CurrentGivenName`]?.[0]?.toUpperCase(), citizen.givenName.toUpperCase());
    assert.deepEqual(a[`${NP}DateOfBirth`], [citizen.dateOfBirth]);
    assert.deepEqual(Object.keys(a).sort(), ['CurrentFamilyName', 'CurrentGivenName', 'DateOfBirth', 'PersonIdentifier'].map((n) => NP + n),
      'exactly the requested attributes');
    assert.ok(body.name_id, 'a NameID');
  });

  test('pysaml2 rejects a tampered Response, accepts the genuine one once, and refuses its replay', async () => {
    const { form } = await loginThroughEidhub(citizenByOutcome('OK_EC'), { loa: 'low' });
    const b64 = form.fields.SAMLResponse;

    // one base64 character changed in the middle of the form field
    const at = Math.floor(b64.length / 2);
    const flipped = b64.slice(0, at) + (b64[at] === 'A' ? 'B' : 'A') + b64.slice(at + 1);
    const r1 = await postToPeer(form.action, { ...form.fields, SAMLResponse: flipped });
    assert.equal(r1.status, 400, JSON.stringify(r1.body));
    assert.equal(r1.body.ok, false);

    // well-formed XML, one character of the encrypted assertion's ciphertext changed: the signature fails
    const xml = Buffer.from(b64, 'base64').toString('utf8');
    const values = [...xml.matchAll(/<(?:\w+:)?CipherValue>([^<]+)</g)];
    assert.ok(values.length >= 2, 'EncryptedKey and EncryptedData carry CipherValues');
    const last = values[values.length - 1];
    const pos = last.index + last[0].indexOf('>') + 1 + Math.floor(last[1].length / 2);
    const tampered = xml.slice(0, pos) + (xml[pos] === 'A' ? 'B' : 'A') + xml.slice(pos + 1);
    const r2 = await postToPeer(form.action, { ...form.fields, SAMLResponse: Buffer.from(tampered).toString('base64') });
    assert.equal(r2.status, 400, JSON.stringify(r2.body));
    assert.match(r2.body.error, /signature/i, 'refused for its signature');

    const ok = await postToPeer(form.action, form.fields);
    assert.equal(ok.status, 200, `${JSON.stringify(ok.body)}\n${peer.log().slice(-3000)}`);
    const again = await postToPeer(form.action, form.fields);
    assert.equal(again.status, 400, 'the answered request is no longer outstanding');
  });

  test('pysaml2 checks the signature of the decrypted assertion too', async () => {
    const citizen = citizenByOutcome('OK_EC');
    const { form } = await loginThroughEidhub(citizen, { loa: 'high' });
    const given = citizen.givenName.toUpperCase();
    // the Response signature is valid again (re-signed with eidhub's key), the assertion's is not
    const forged = reassemble(form.fields.SAMLResponse, (xml) => {
      assert.match(xml, new RegExp(`>${given}<`, 'i'));
      return xml.replace(new RegExp(`>${given}<`, 'i'), '>MALLORY<');
    });
    const r1 = await postToPeer(form.action, { ...form.fields, SAMLResponse: forged });
    assert.equal(r1.status, 400, JSON.stringify(r1.body));
    assert.match(r1.body.error, /signature/i);
    // the same steps without the change are accepted: the change was the reason
    const same = reassemble(form.fields.SAMLResponse, (xml) => xml);
    const r2 = await postToPeer(form.action, { ...form.fields, SAMLResponse: same });
    assert.equal(r2.status, 200, `${JSON.stringify(r2.body)}\n${peer.log().slice(-3000)}`);
    assert.equal(r2.body.attributes[`${NP}CurrentGivenName`]?.[0]?.toUpperCase(), given);
  });

  test("eidhub refuses pysaml2's RSA PKCS#1 v1.5 (rsa-sha256) signature with an error page", async () => {
    const request = await startAtPeer({ sig: 'rsa-sha256' });
    const xml = Buffer.from(request.fields.SAMLRequest, 'base64').toString('utf8');
    assert.match(xml, /xmldsig-more#rsa-sha256/);
    const agent = new Agent(broker.url);
    const r = await agent.post(request.action, request.fields);
    assert.ok(r.status >= 400 && r.status < 500, `a 4xx, got ${r.status}`);
    assert.equal(r.location, null, 'no redirect to the login');
    assert.doesNotMatch(r.text, /SAMLResponse/, 'nothing is sent back to an untrusted sender');
    assert.match(broker.errorLog(), /refused an AuthnRequest: .*signature method not allowed/);
    // the same Connector signing with ECDSA is accepted, so the algorithm was the reason
    const good = await startAtPeer({ sig: 'ecdsa-sha256' });
    const ok = await new Agent(broker.url).post(good.action, good.fields);
    assert.equal(ok.status, 303, ok.text.slice(0, 500));
  });

  test("eidhub refuses a request whose AssertionConsumerServiceURL is not the one of the Connector's metadata", async () => {
    const request = await startAtPeer({ acs: 'http://127.0.0.1:9/elsewhere' });
    assert.match(Buffer.from(request.fields.SAMLRequest, 'base64').toString('utf8'), /AssertionConsumerServiceURL="http:\/\/127\.0\.0\.1:9\/elsewhere"/);
    const r = await new Agent(broker.url).post(request.action, request.fields);
    assert.ok(r.status >= 400 && r.status < 500, `a 4xx, got ${r.status}`);
    assert.equal(r.location, null);
    assert.doesNotMatch(r.text, /elsewhere|SAMLResponse/, 'nothing is sent to the other address');
  });
});
