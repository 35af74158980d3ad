// Citizens log in with Smart-ID over real HTTP: a relying party written with
// openid-client, eidhub (real nginx + module, real Redis) and the Smart-ID
// simulator speaking the RP API v2 (tests/sim/smart-id.mjs), next to the
// Mobile-ID simulator, whose citizen Mary Änn is the simulators' shared
// person. Every endResult and HTTP error of Smart-ID, the hostile answers,
// the certificate levels and the rate limits.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import * as oidc from 'openid-client';
import { elementText, hiddenField } from '../lib/agent.mjs';
import {
  freePort, mobileIdSettings, smartIdSettings, startBroker, startMobileIdSim, startRedis, startSmartIdSim,
} from '../lib/harness.mjs';
import { authorize as authorizeAt, login as loginAt, mobileId, smartId } from '../lib/oidc-flow.mjs';
import { citizenByOutcome } from '../sim/mobile-id.mjs';
import { ACCOUNTS, accountByOutcome } from '../sim/smart-id.mjs';

const SECRET = 'portal-secret-' + crypto.randomBytes(8).toString('hex');
const TAX_SECRET = 'tax-secret-' + crypto.randomBytes(8).toString('hex');
const sha256hex = (s) => crypto.createHash('sha256').update(s).digest('hex');
const PORTAL_CB = 'http://127.0.0.1:9/callback';
const TAX_CB = 'http://127.0.0.1:9/tax';
const SECRETS = { portal: SECRET, tax: TAX_SECRET };
const RELAXED = { per_person: 100, per_client_address: 10000, window_seconds: 60 };

let redis, redis2, midSim, sidSim, broker, advanced;

const relyingParties = [
  { client_id: 'portal', client_secret_sha256: sha256hex(SECRET), redirect_uris: [PORTAL_CB],
    display_name: { en: 'City portal', et: 'Linnaportaal' }, policy: 'basic', subject_type: 'pairwise' },
  { client_id: 'tax', client_secret_sha256: sha256hex(TAX_SECRET), redirect_uris: [TAX_CB],
    display_name: 'Tax office', policy: 'full', subject_type: 'public' },
];

before(async () => {
  [redis, redis2] = await Promise.all([startRedis(), startRedis()]);
  [midSim, sidSim] = await Promise.all([startMobileIdSim({ delayMs: 300 }), startSmartIdSim({ delayMs: 300 })]);
  // the broker most tests use: Smart-ID asks for QUALIFIED (the default)
  broker = await startBroker({
    store: redis.url,
    broker: {
      relying_parties: relyingParties,
      backends: {
        mobile_id: mobileIdSettings(midSim, { rate_limit: { ...RELAXED, per_phone: 100 } }),
        smart_id: smartIdSettings(sidSim, { rate_limit: RELAXED, display_text: 'Log in to the city portal' }),
      },
    },
  });
  // a broker whose Smart-ID asks for ADVANCED, with a tight limit per person
  // (and a store of its own, so the other broker's attempts do not count)
  advanced = await startBroker({
    store: redis2.url,
    broker: {
      relying_parties: relyingParties,
      backends: {
        smart_id: smartIdSettings(sidSim, {
          certificate_level: 'ADVANCED', hash_type: 'SHA384',
          rate_limit: { per_person: 2, per_client_address: 1000, window_seconds: 300 },
        }),
      },
    },
  });
});
after(async () => {
  await advanced?.stop(); await broker?.stop();
  await sidSim?.stop(); await midSim?.stop(); await redis?.stop(); await redis2?.stop();
});

/** Starts an authorization request at a broker (the portal unless told otherwise). */
function authorize({ at = broker, clientId = 'portal', redirectUri = PORTAL_CB, ...rest } = {}) {
  return authorizeAt(at.url, { clientId, secret: SECRETS[clientId], redirectUri, ...rest });
}

/** A whole login at a broker with method (smartId unless told) for who. */
function loginWith(who, { at = broker, clientId = 'portal', redirectUri = PORTAL_CB, method = smartId, ...rest } = {}) {
  return loginAt(at.url, { clientId, secret: SECRETS[clientId], redirectUri, ...rest }, who, method);
}

/** The code grant of a login's callback with openid-client; returns the ID token's claims and the tokens. */
async function grant(flow) {
  const tokens = await oidc.authorizationCodeGrant(flow.config, flow.callback, {
    pkceCodeVerifier: flow.verifier, expectedState: flow.state, expectedNonce: flow.nonce, idTokenExpected: true,
  });
  return { claims: tokens.claims(), tokens };
}

/** The "authentication" lines the Smart-ID simulator has logged for account so far. */
function simStarts(account) {
  let text = '';
  try { text = fs.readFileSync(path.join(sidSim.dir, 'sim.log'), 'utf8'); } catch { /* not yet */ }
  return text.split('\n').filter((l) => l.includes('authentication '))
    .filter((l) => l.includes(account.semanticsIdentifier) || l.includes(account.documentNumber));
}

/** Waits until the simulator's log has n starts for account (its log is written asynchronously). */
async function waitForStarts(account, n) {
  for (let i = 0; i < 100; i++) {
    const lines = simStarts(account);
    if (lines.length >= n) return lines;
    await sleep(20);
  }
  return simStarts(account);
}

/** A fresh form of the Smart-ID backend for a new login: the agent and the CSRF token. */
async function sidForm(options = {}) {
  const { agent } = await authorize(options);
  const form = await agent.get('/auth/sid');
  assert.equal(form.status, 200, form.text);
  return { agent, form, csrf: hiddenField(form.text, 'csrf') };
}

describe('a citizen logs in to the portal with Smart-ID', () => {
  test('openid-client completes the flow: acr high for QUALIFIED, amr smartid', async () => {
    const account = accountByOutcome('OK');
    const flow = await authorize({ extra: { ui_locales: 'et', acr_values: 'high' } });
    assert.equal(flow.first.status, 303);
    const choice = await flow.agent.get('/login');
    assert.match(choice.text, /id="method-smart_id" href="\/auth\/sid"/);
    assert.match(choice.text, /id="method-mobile_id"/);
    const done = await smartId(flow.agent, account);
    assert.equal(done.status, 303, done.text);
    assert.ok(done.location.startsWith(PORTAL_CB + '?'));
    const { claims, tokens } = await grant({ ...flow, callback: new URL(done.location) });
    assert.equal(claims.iss, broker.url);
    assert.equal(claims.acr, 'high');
    assert.deepEqual(claims.amr, ['smartid']);
    assert.equal(claims.given_name, account.givenName.toUpperCase());
    assert.equal(claims.family_name, account.surname.toUpperCase());
    assert.notEqual(claims.sub, `EE${account.personalCode}`, 'pairwise subject');
    assert.ok(!JSON.stringify(claims).includes(account.personalCode), 'the personal code is not released');
    const info = await oidc.fetchUserInfo(flow.config, tokens.access_token, claims.sub);
    assert.equal(info.sub, claims.sub);
    // the login ended: the transaction cookie is gone, the pages say so
    const again = await flow.agent.get('/auth/sid/finish');
    assert.notEqual(again.status, 303);
  });

  test('the verification code is shown before the request is sent, and is the code of the hash sent', async () => {
    const account = accountByOutcome('OK_UNDER_18');
    const { agent, csrf } = await sidForm();
    const before = simStarts(account).length;
    const started = await agent.post('/auth/sid', { csrf, country: 'EE', personal_code: account.personalCode });
    assert.equal(started.status, 303, started.text);
    const wait = await agent.get('/auth/sid/wait');
    assert.equal(wait.status, 200);
    const code = elementText(wait.text, 'verification-code');
    assert.match(code, /^\d{4}$/);
    assert.match(wait.text, /data-status="\/auth\/sid\/status"/);
    assert.match(wait.text, /url=\/auth\/sid\/finish/, 'a refresh to /finish without JavaScript');
    await sleep(200);
    assert.equal(simStarts(account).length, before, 'no request reached Smart-ID while the code was shown');
    const s = await agent.get('/auth/sid/status');
    assert.equal(JSON.parse(s.text).state, 'RUNNING');
    const lines = await waitForStarts(account, before + 1);
    assert.equal(lines.length, before + 1, 'the first poll started exactly one session');
    const line = lines.at(-1);
    assert.match(line, new RegExp(`etsi/${account.semanticsIdentifier} `));
    assert.match(line, new RegExp(`verification code ${code}\\b`), 'the app shows the same code');
    assert.match(line, /level QUALIFIED/);
    assert.match(line, /interactions verificationCodeChoice>displayTextAndPIN/);
    // the same code while waiting, and the session is started once however often one polls
    assert.equal(elementText((await agent.get('/auth/sid/wait')).text, 'verification-code'), code);
    for (let i = 0; i < 100; i++) {
      if (JSON.parse((await agent.get('/auth/sid/status')).text).state !== 'RUNNING') break;
    }
    assert.equal(simStarts(account).length, before + 1);
    const done = await agent.get('/auth/sid/finish');
    assert.equal(done.status, 303, done.text);
    assert.ok(done.location.startsWith(PORTAL_CB + '?code='));
  });

  test('a Latvian logs in with country LV; the tax office (public subject, full policy) gets her national id', async () => {
    const account = accountByOutcome('OK_LV');
    const flow = await loginWith(account, { clientId: 'tax', redirectUri: TAX_CB });
    const { claims } = await grant(flow);
    assert.equal(claims.sub, `LV${account.personalCode}`);
    assert.equal(claims.acr, 'high');
    // the dash may be left out of a Latvian code
    const flow2 = await loginWith({ ...account, personalCode: account.personalCode.replace('-', '') },
      { clientId: 'tax', redirectUri: TAX_CB });
    assert.equal((await grant(flow2)).claims.sub, `LV${account.personalCode}`);
  });

  test('a document number logs in the person of its certificate', async () => {
    const account = accountByOutcome('OK');
    const flow = await loginWith(account, { clientId: 'tax', redirectUri: TAX_CB, method: (agent, a) => smartId(agent, a, { byDocument: true }) });
    const { claims } = await grant(flow);
    assert.equal(claims.sub, `EE${account.personalCode}`);
    assert.ok((await waitForStarts(account, 1)).some((l) => l.includes(`document/${account.documentNumber} `)));
  });

  test('the same citizen gets the same pairwise subject through Mobile-ID and Smart-ID', async () => {
    const account = accountByOutcome('OK_ALSO_MOBILE_ID');
    const citizen = citizenByOutcome(account.mobileId);
    assert.equal(citizen.personalCode, account.personalCode, 'the simulators share this person');
    const bySid = await grant(await loginWith(account));
    const byMid = await grant(await loginWith(citizen, { method: mobileId }));
    assert.deepEqual(bySid.claims.amr, ['smartid']);
    assert.deepEqual(byMid.claims.amr, ['mID']);
    assert.equal(bySid.claims.sub, byMid.claims.sub);
    assert.equal(bySid.claims.given_name, byMid.claims.given_name);
    // and another portal sees another subject
    const atTax = await grant(await loginWith(account, { clientId: 'tax', redirectUri: TAX_CB }));
    assert.notEqual(atTax.claims.sub, bySid.claims.sub);
  });

  test('the scope "smartid" sends the citizen straight to Smart-ID', async () => {
    const { agent, first } = await authorize({ scope: 'openid profile smartid' });
    assert.equal(first.status, 303);
    const choice = await agent.get('/login');
    assert.equal(choice.status, 303);
    assert.equal(new URL(choice.location).pathname, '/auth/sid');
  });

  test('a login_hint fills the form, and the form offers the three countries', async () => {
    const { agent } = await authorize({ extra: { login_hint: 'LV030303-10012' } });
    const form = await agent.get('/auth/sid');
    assert.match(form.text, /id="personal_code" name="personal_code"[^>]*value="030303-10012"/);
    assert.match(form.text, /<option value="LV" selected>/);
    for (const c of ['EE', 'LV', 'LT']) assert.match(form.text, new RegExp(`<option value="${c}"`));
    assert.match(form.text, /id="sid-submit"/);
    assert.match(form.text, /id="document_number"/);
    assert.match(form.text, /id="cancel"/);
  });
});

describe('Smart-ID answers other than OK', () => {
  const cases = [
    ['USER_REFUSED', /You cancelled the login in the Smart-ID app\./],
    ['USER_REFUSED_CERT_CHOICE', /when it asked you to choose an account/],
    ['USER_REFUSED_DISPLAYTEXTANDPIN', /when it asked for your PIN/],
    ['USER_REFUSED_VC_CHOICE', /when it asked you to choose the verification code/],
    ['USER_REFUSED_CONFIRMATIONMESSAGE', /on its confirmation screen/],
    ['USER_REFUSED_CONFIRMATIONMESSAGE_WITH_VC_CHOICE', /on its confirmation and verification code screen/],
    ['WRONG_VC', /chose the wrong verification code/],
    ['TIMEOUT', /did not answer in the Smart-ID app in time/],
    ['DOCUMENT_UNUSABLE', /account cannot be used right now/],
    ['REQUIRED_INTERACTION_NOT_SUPPORTED_BY_APP', /app cannot do this login\. Update the app/],
    ['HTTP_404', /No Smart-ID account for this personal code/],
    ['HTTP_471', /cannot be used for this login: its level is too low/],
    ['OK_ADVANCED', /cannot be used for this login: its level is too low/], // 471 when QUALIFIED is asked
    ['HTTP_472', /has a problem: open the Smart-ID app/],
    ['HTTP_480', /connection to Smart-ID is out of date/],
    ['HTTP_580', /under maintenance: try again later/],
    // hostile answers: endResult OK, but not a login
    ['WRONG_SIGNATURE', /could not be verified/],
    ['EXPIRED_CERTIFICATE', /could not be verified/],
    ['OTHER_PERSON_CERTIFICATE', /could not be verified/],
    ['UNTRUSTED_CA', /could not be verified/],
    ['CERTIFICATE_LEVEL_MISMATCH', /could not be verified/], // ADVANCED answered when QUALIFIED was asked
    // a valid answer, but the CA's OCSP responder says the certificate is revoked
    ['REVOKED_CERTIFICATE', /Your Smart-ID certificate has been revoked/],
  ];
  for (const [outcome, message] of cases) {
    test(`${outcome}: a clear message, no login, and giving up returns access_denied`, async () => {
      const account = accountByOutcome(outcome);
      const { agent } = await authorize({ extra: { ui_locales: 'en' } });
      const done = await smartId(agent, account);
      assert.equal(done.status, 200, done.text);
      assert.match(elementText(done.text, 'error'), message);
      assert.match(done.text, /id="try-again" href="\/auth\/sid"/);
      // the upstream session is not resumed twice: finish again shows the form, not a login
      const again = await agent.get('/auth/sid/finish');
      assert.equal(again.status, 303);
      assert.equal(new URL(again.location).pathname, '/auth/sid');
      // the form keeps what the citizen entered
      const form = await agent.get('/auth/sid');
      assert.match(form.text, new RegExp(`name="personal_code"[^>]*value="${account.personalCode}"`));
      const cancel = await agent.post('/cancel', { csrf: hiddenField(done.text, 'csrf') });
      assert.equal(cancel.status, 303);
      const back = new URL(cancel.location);
      assert.equal(back.origin + back.pathname, PORTAL_CB);
      assert.equal(back.searchParams.get('error'), 'access_denied');
      assert.equal(back.searchParams.get('code'), null);
    });
  }

  test('every account of the simulator that may not log in is among those above', () => {
    const tested = new Set(cases.map(([o]) => o));
    for (const a of ACCOUNTS) {
      if (!a.authenticates) assert.ok(tested.has(a.outcome), `${a.outcome} is not tested here`);
    }
  });

  test('the OCSP responder down: "cannot be checked now, try again later", no login; up again: the account logs in', async () => {
    const account = accountByOutcome('OK');
    await sidSim.setOcspRunning(false);
    try {
      const mark = broker.errorLog().length;
      const { agent } = await authorize({ extra: { ui_locales: 'en' } });
      const done = await smartId(agent, account);
      assert.equal(done.status, 200, done.text);
      assert.match(elementText(done.text, 'error'), /validity of your Smart-ID certificate cannot be checked right now\. Please try again later/);
      assert.doesNotMatch(done.text, /callback\?code=/);
      assert.match(broker.errorLog().slice(mark), /smart_id: answer refused: revocation cannot be checked: the OCSP responder did not answer/);
    } finally {
      await sidSim.setOcspRunning(true);
    }
    const { callback } = await loginAt(broker.url, { clientId: 'portal', secret: SECRET, redirectUri: PORTAL_CB }, account, smartId);
    assert.ok(callback.searchParams.get('code'));
  });

  test('Estonian texts for the Estonian locale', async () => {
    for (const [outcome, message] of [
      ['USER_REFUSED', /katkestasite sisselogimise Smart-ID rakenduses/],
      ['HTTP_404', /Smart-ID kontot ei ole/],
      ['HTTP_580', /hooldustööd/],
      ['REVOKED_CERTIFICATE', /Smart-ID sertifikaat on tühistatud/],
    ]) {
      const { agent } = await authorize({ extra: { ui_locales: 'et' } });
      const done = await smartId(agent, accountByOutcome(outcome));
      assert.match(elementText(done.text, 'error'), message);
    }
  });
});

describe('certificate levels', () => {
  test('a broker asking for ADVANCED lets an ADVANCED account in at acr substantial', async () => {
    const flow = await loginWith(accountByOutcome('OK_ADVANCED'), { at: advanced, clientId: 'tax', redirectUri: TAX_CB });
    const { claims } = await grant(flow);
    assert.equal(claims.acr, 'substantial');
    assert.deepEqual(claims.amr, ['smartid']);
    assert.equal(claims.sub, `LT${accountByOutcome('OK_ADVANCED').personalCode}`);
  });

  test('a QUALIFIED answer to an ADVANCED request is high', async () => {
    const { claims } = await grant(await loginWith(accountByOutcome('OK'), { at: advanced }));
    assert.equal(claims.acr, 'high');
  });

  test('Smart-ID asking for ADVANCED is not offered when the portal asks for high', async () => {
    const { agent } = await authorize({ at: advanced, extra: { acr_values: 'high' } });
    const choice = await agent.get('/login');
    assert.equal(choice.status, 200);
    assert.doesNotMatch(choice.text, /method-smart_id/);
    assert.match(choice.text, /None of the login methods meets the level/);
    const { agent: agent2 } = await authorize({ at: advanced, extra: { acr_values: 'substantial' } });
    assert.match((await agent2.get('/login')).text, /id="method-smart_id"/);
  });
});

describe('the form is checked before any call, and attempts are limited', () => {
  for (const [name, fields, message] of [
    ['a personal code with a bad checksum', { country: 'EE', personal_code: '30303039915' }, /not valid for the chosen country/],
    ['an Estonian code as Latvian', { country: 'LV', personal_code: '30303039914' }, /not valid for the chosen country/],
    ['a country Smart-ID is not asked for here', { country: 'FI', personal_code: '30303039914' }, /not valid for the chosen country/],
    ['no personal code', { country: 'EE' }, /not valid for the chosen country/],
    ['a document number with a path in it', { document_number: '../session/x' }, /document number is not valid/],
  ]) {
    test(`${name}: 400, a message, and no call to Smart-ID`, async () => {
      const { agent, csrf } = await sidForm();
      const before = simStarts(accountByOutcome('OK')).length;
      const r = await agent.post('/auth/sid', { csrf, ...fields });
      assert.equal(r.status, 400);
      assert.match(elementText(r.text, 'error'), message);
      assert.match(r.text, /id="sid-form"/);
      const s = await agent.get('/auth/sid/status');
      assert.equal(JSON.parse(s.text).state, 'COMPLETE', 'nothing is running');
      assert.equal(simStarts(accountByOutcome('OK')).length, before);
    });
  }

  test('a form without its CSRF token is refused', async () => {
    const { agent } = await sidForm();
    const r = await agent.post('/auth/sid', { csrf: 'x', country: 'EE', personal_code: '30303039914' });
    assert.equal(r.status, 403);
  });

  test('more than per_person attempts for one person in the window: 429 and no call upstream', async () => {
    const account = accountByOutcome('OK_UNDER_18'); // not used at that broker before
    const before = simStarts(account).length;
    for (let i = 0; i < 2; i++) {
      const { agent, csrf } = await sidForm({ at: advanced });
      const r = await agent.post('/auth/sid', { csrf, country: account.country, personal_code: account.personalCode });
      assert.equal(r.status, 303, r.text);
      assert.equal(JSON.parse((await agent.get('/auth/sid/status')).text).state, 'RUNNING');
    }
    await waitForStarts(account, before + 2);
    const { agent, csrf } = await sidForm({ at: advanced });
    const r = await agent.post('/auth/sid', { csrf, country: account.country, personal_code: account.personalCode });
    assert.equal(r.status, 429);
    assert.match(elementText(r.text, 'error'), /Too many login attempts/);
    assert.match(r.text, new RegExp(`value="${account.personalCode}"`), 'the form keeps the code');
    await sleep(200);
    assert.equal(simStarts(account).length, before + 2, 'the third attempt reached nobody');
    // another person is not held back
    const other = accountByOutcome('OK');
    const f = await sidForm({ at: advanced });
    const ok = await f.agent.post('/auth/sid', { csrf: f.csrf, country: 'EE', personal_code: other.personalCode });
    assert.equal(ok.status, 303);
  });
});

describe('never block: a Smart-ID service that accepts connections and never answers', () => {
  let stalled, slow;
  const sockets = new Set();
  before(async () => {
    const port = await freePort();
    stalled = net.createServer((s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
    await new Promise((resolve) => stalled.listen(port, '127.0.0.1', resolve));
    slow = await startBroker({
      store: redis.url,
      workers: 1,
      broker: {
        relying_parties: relyingParties,
        backends: { smart_id: { ...smartIdSettings(sidSim), url: `http://127.0.0.1:${port}/smart-id-rp/v2`, request_timeout_ms: 1500, rate_limit: RELAXED } },
      },
    });
  });
  after(async () => {
    for (const s of sockets) s.destroy();
    stalled?.close();
    await slow?.stop();
  });

  test('the start times out into a message, is made once, and the worker answers everyone meanwhile', async () => {
    const { agent, csrf } = await sidForm({ at: slow });
    const started = await agent.post('/auth/sid', { csrf, country: 'EE', personal_code: accountByOutcome('OK').personalCode });
    assert.equal(started.status, 303, 'the code is shown without a call');
    assert.equal(sockets.size, 0);
    let finished = false;
    const pending = agent.get('/auth/sid/status').then((r) => { finished = true; return r; });
    for (let i = 0; i < 100 && sockets.size === 0; i++) await sleep(20);
    assert.equal(sockets.size, 1, 'the first poll called the stalled service');
    // a second poll while the start is under way does not start another session
    const second = await agent.get('/auth/sid/status');
    assert.equal(JSON.parse(second.text).state, 'RUNNING');
    let answered = 0;
    for (let i = 0; i < 20; i++) {
      const r = await fetch(`${slow.url}/.well-known/openid-configuration`);
      assert.equal(r.status, 200);
      await r.arrayBuffer();
      if (!finished) answered++;
    }
    assert.equal(answered, 20, 'other requests were answered while the Smart-ID call was pending');
    assert.equal(JSON.parse((await pending).text).state, 'COMPLETE');
    assert.equal(sockets.size <= 1, true, 'one call only');
    const done = await agent.get('/auth/sid/finish');
    assert.equal(done.status, 200);
    assert.match(elementText(done.text, 'error'), /Smart-ID service is not available right now/);
  });
});

test('the brokers\' logs tell what happened without a personal code or a name', () => {
  const logs = broker.errorLog() + advanced.errorLog();
  assert.match(logs, /smart_id: session ended with USER_REFUSED/);
  assert.match(logs, /smart_id: answer refused: certificate level lower than asked/);
  assert.match(logs, /smart_id: answer refused: the certificate is revoked \(keyCompromise\)/);
  for (const a of ACCOUNTS) {
    const code = a.personalCode.replace('-', '');
    assert.ok(!logs.includes(code) && !logs.includes(a.personalCode), `${a.outcome}'s personal code is in a log`);
    assert.ok(!logs.includes(a.surname), `${a.outcome}'s name is in a log`);
  }
});
