// The eIDAS Proxy-Service over real HTTP (nginx + module, Redis): our signed
// metadata, and AuthnRequests that must be refused with an error page that
// echoes nothing, sets no cookie and stores nothing. The signed requests and
// the answers are covered by the unit suite (tests/unit/test_broker.c,
// eidas_proxy) and the federation tests.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ROOT, startBroker, startRedis, tmpdir } from '../lib/harness.mjs';

const FX = path.join(ROOT, 'tests', 'fixtures', 'saml');
const LV = 'https://connector.lv/metadata';
const MARK = '<script>alert("eidhub")</script>';

let redis, broker, peersDir;

before(async () => {
  redis = await startRedis();
  // the workers (nobody) read peers' metadata files: a readable folder
  peersDir = tmpdir('eidhub-peers-');
  fs.chmodSync(peersDir, 0o755);
  fs.writeFileSync(path.join(peersDir, 'lv.xml'), '<not-metadata/>', { mode: 0o644 });
  broker = await startBroker({
    store: redis.url,
    broker: {
      saml: {
        country: 'EE',
        signing_key_file: path.join(FX, 'ec256.pem'), signing_cert_file: path.join(FX, 'ec256.crt'),
        encryption_key_file: path.join(FX, 'rsa3072.pem'), encryption_cert_file: path.join(FX, 'rsa3072.crt'),
        organization: 'eidhub test',
      },
      eidas_proxy: {
        connectors: [{ id: 'lv', metadata: path.join(peersDir, 'lv.xml'), entity_id: LV,
          trust_anchor_file: path.join(FX, 'attacker.crt'), policy: 'basic', display_name: 'Latvia' }],
      },
    },
  });
});
after(async () => {
  await broker?.stop();
  await redis?.stop();
  if (peersDir) fs.rmSync(peersDir, { recursive: true, force: true });
});

/** The number of keys in Redis. */
function dbsize() {
  const r = spawnSync('redis-cli', ['-p', String(redis.port), 'DBSIZE'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return Number(r.stdout.trim());
}

const b64 = (s) => Buffer.from(s, 'utf8').toString('base64');

/** A well-formed eIDAS AuthnRequest without a signature. */
function unsignedRequest(issuer = LV) {
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  return `<?xml version="1.0"?>
<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"
 xmlns:eidas="http://eidas.europa.eu/saml-extensions" ID="_abc${Date.now()}" Version="2.0" IssueInstant="${now}"
 Destination="${broker.url}/saml/proxy/sso" ForceAuthn="true" IsPassive="false">
 <saml:Issuer Format="urn:oasis:names:tc:SAML:2.0:nameid-format:entity">${issuer}</saml:Issuer>
 <samlp:Extensions><eidas:SPType>public</eidas:SPType><eidas:RequestedAttributes>
  <eidas:RequestedAttribute Name="http://eidas.europa.eu/attributes/naturalperson/PersonIdentifier"
   NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:uri" isRequired="true"/>
 </eidas:RequestedAttributes></samlp:Extensions>
 <samlp:NameIDPolicy Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent" AllowCreate="true"/>
 <samlp:RequestedAuthnContext Comparison="minimum">
  <saml:AuthnContextClassRef>http://eidas.europa.eu/LoA/substantial</saml:AuthnContextClassRef>
 </samlp:RequestedAuthnContext>
</samlp:AuthnRequest>`;
}

async function post(fields) {
  return fetch(`${broker.url}/saml/proxy/sso`, {
    method: 'POST', redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
  });
}

/** Checks a refusal: status, an HTML page that echoes nothing, no cookie, nothing stored. */
async function assertRefused(res, status, before, { ours = true } = {}) {
  const text = await res.text();
  assert.equal(res.status, status, text);
  assert.match(res.headers.get('content-type'), /^text\/html/);
  if (ours) assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'none'/);
  assert.equal(res.headers.getSetCookie().length, 0);
  assert.ok(!text.includes('<script>alert'), 'input echoed');
  assert.ok(!text.includes('connector.lv'), 'input echoed');
  assert.ok(!text.includes('SAMLResponse'), 'a SAML answer to an untrusted sender');
  assert.equal(dbsize(), before, 'something was stored');
  return text;
}

describe('our Proxy-Service metadata', () => {
  test('is signed XML naming our entity, SSO endpoint and country', async () => {
    const res = await fetch(`${broker.url}/saml/proxy/metadata`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/samlmetadata+xml');
    const xml = await res.text();
    const entity = `${broker.url}/saml/proxy/metadata`;
    assert.match(xml, /^<\?xml/);
    assert.ok(xml.includes(`entityID="${entity}"`), xml);
    assert.match(xml, new RegExp(`SingleSignOnService[^>]*Location="${broker.url}/saml/proxy/sso"`));
    assert.match(xml, /NodeCountry[^>]*>EE</);
    assert.match(xml, /<ds:Signature|<Signature/);
    assert.match(xml, /validUntil="/);
    const dir = tmpdir('eidhub-md-');
    try {
      const file = path.join(dir, 'md.xml');
      fs.writeFileSync(file, xml);
      const lint = spawnSync('xmllint', ['--noout', '--nonet', file], { encoding: 'utf8' });
      assert.equal(lint.status, 0, lint.stderr);
      const verify = spawnSync('xmlsec1', ['--verify', '--enabled-key-data', 'x509,ec', '--pubkey-cert-pem', path.join(FX, 'ec256.crt'),
        '--id-attr:ID', 'urn:oasis:names:tc:SAML:2.0:metadata:EntityDescriptor', file], { encoding: 'utf8' });
      if (verify.error?.code !== 'ENOENT') assert.equal(verify.status, 0, verify.stderr);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    // signed once a minute per worker, served from memory in between: at
    // most one document per worker (the broker runs two)
    const seen = new Set([xml]);
    for (let i = 0; i < 6; i++) seen.add(await (await fetch(`${broker.url}/saml/proxy/metadata`)).text());
    assert.ok(seen.size <= 2, `${seen.size} different documents`);
    const head = await fetch(`${broker.url}/saml/proxy/metadata`, { method: 'HEAD' });
    assert.equal(head.status, 200);
  });
});

describe('AuthnRequests the Proxy-Service refuses', () => {
  const cases = [
    ['garbage that is not base64', { SAMLRequest: `not base64 ${MARK}` }, 400],
    ['base64 of something that is not XML', { SAMLRequest: b64(`hello ${MARK}`), RelayState: MARK }, 400],
    ['XML that is not an AuthnRequest', { SAMLRequest: b64(`<a xmlns="${LV}">${'x'.repeat(10)}</a>`) }, 400],
    ['a DOCTYPE with an entity', { SAMLRequest: b64(`<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "${LV}">]><a>&x;</a>`) }, 400],
    ['an external entity', { SAMLRequest: b64('<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>') }, 400],
    ['an unsigned AuthnRequest of a known Connector', () => ({ SAMLRequest: b64(unsignedRequest()) }), 400],
    ['an AuthnRequest of an unknown issuer', () => ({ SAMLRequest: b64(unsignedRequest('https://evil.example/md')) }), 400],
    ['a RelayState over 80 bytes', () => ({ SAMLRequest: b64(unsignedRequest()), RelayState: 'r'.repeat(81) }), 400],
    ['no SAMLRequest at all', { RelayState: 'x' }, 400],
    // over the module's 64 KiB body limit: nginx answers 413 before the broker sees it
    ['an oversized SAMLRequest', { SAMLRequest: 'QUFB'.repeat(100 * 1024) }, 413, { ours: false }],
    ['deeply nested XML', { SAMLRequest: b64('<a>'.repeat(5000) + '</a>'.repeat(5000)) }, 400],
  ];
  for (const [name, fields, status, options] of cases) {
    test(name, async () => {
      const n = dbsize();
      await assertRefused(await post(typeof fields === 'function' ? fields() : fields), status, n, options);
    });
  }

  test('a GET without SAMLRequest', async () => {
    const n = dbsize();
    await assertRefused(await fetch(`${broker.url}/saml/proxy/sso?RelayState=${encodeURIComponent(MARK)}`, { redirect: 'manual' }), 400, n);
  });

  test('the HTTP-Redirect binding with a request that does not inflate or verify', async () => {
    const n = dbsize();
    const q = new URLSearchParams({ SAMLRequest: b64(unsignedRequest()), RelayState: 'x' });
    await assertRefused(await fetch(`${broker.url}/saml/proxy/sso?${q}`, { redirect: 'manual' }), 400, n);
  });

  test('the error page is in the citizen\'s language', async () => {
    const res = await fetch(`${broker.url}/saml/proxy/sso`, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'accept-language': 'et' },
      body: 'SAMLRequest=%25%25%25',
    });
    const text = await res.text();
    assert.equal(res.status, 400);
    assert.match(text, /lang="et"/);
  });

  test('the broker logs why, without the request\'s content', () => {
    const log = broker.errorLog();
    assert.match(log, /eidas proxy: refused an AuthnRequest: /);
    assert.ok(!log.includes('alert('), 'input in the log');
  });
});
