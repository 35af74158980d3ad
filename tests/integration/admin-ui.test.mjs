// The administrators' web UI (policies/admin-ui/, served by eidhub under
// /admin/) in real Chromium against real nginx + module, Redis and the
// Mobile-ID simulator, with a writable policy_dir and two accounts (an editor
// and a viewer, password hashes from `eidhubctl passwd`):
//
//   - an editor switches the Tax office from the "full" to the "age-only"
//     profile, previews it for a citizen born 2000-01-01 (only age_over_18),
//     saves it with a reason, and finds version 1 with its diff in the
//     history; then a citizen logs in to the Tax office with Mobile-ID (over
//     HTTP, with tests/lib/oidc-flow.mjs and openid-client as the relying
//     party) and the ID token holds age_over_18 and no birth date or name;
//   - a viewer sees every editing control disabled, and the API refuses the
//     viewer's save (403) even with the session's CSRF token;
//   - two editors save the same policy: the second gets the "someone else
//     changed it" box, loads the latest version, and rolls back.
//
// Every page must run under the strict CSP without a single violation. A
// failing test leaves a screenshot in tests/results/; with
// EH_ADMIN_UI_SCREENSHOTS=1 every step does (to look at the pages).
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import * as oidc from 'openid-client';
import { chromium } from 'playwright-core';
import { mobileIdSettings, passwordHash, policyDirectory, startBroker, startMobileIdSim, startRedis } from '../lib/harness.mjs';
import { login } from '../lib/oidc-flow.mjs';
import { citizenByOutcome } from '../sim/mobile-id.mjs';

const RESULTS = path.resolve(import.meta.dirname, '../results');
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const STEP_MS = 10000;
const SHOTS = process.env.EH_ADMIN_UI_SCREENSHOTS === '1';
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; " +
  "frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

const EDITOR = { user: 'erika', password: crypto.randomBytes(12).toString('base64url') };
const EDITOR2 = { user: 'enno', password: crypto.randomBytes(12).toString('base64url') };
const VIEWER = { user: 'viktor', password: crypto.randomBytes(12).toString('base64url') };
const TAX_SECRET = crypto.randomBytes(24).toString('base64url');
const TAX_CB = 'http://127.0.0.1:9/tax';
const sha256hex = (s) => crypto.createHash('sha256').update(s).digest('hex');

let redis, sim, broker, browser, policyDir;

before(async () => {
  redis = await startRedis();
  sim = await startMobileIdSim({ delayMs: 300 });
  policyDir = policyDirectory();
  broker = await startBroker({
    store: redis.url,
    broker: {
      relying_parties: [
        { client_id: 'tax', client_secret_sha256: sha256hex(TAX_SECRET), redirect_uris: [TAX_CB],
          display_name: { en: 'Tax office', et: 'Maksuamet' }, policy: 'full', subject_type: 'public' },
        { client_id: 'city', client_secret_sha256: sha256hex('city-secret-0123456789'),
          redirect_uris: ['http://127.0.0.1:9/city'], display_name: 'City portal', policy: 'basic' },
      ],
      policy_dir: policyDir,
      admin: {
        accounts: [
          { user: EDITOR.user, password_hash: passwordHash(EDITOR.password), role: 'editor' },
          { user: EDITOR2.user, password_hash: passwordHash(EDITOR2.password), role: 'editor' },
          { user: VIEWER.user, password_hash: passwordHash(VIEWER.password), role: 'viewer' },
        ],
        session_minutes: 30,
      },
      backends: { mobile_id: mobileIdSettings(sim) },
    },
  });
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS });
});
after(async () => {
  await browser?.close();
  await broker?.stop();
  await sim?.stop();
  await redis?.stop();
  if (policyDir) fs.rmSync(policyDir, { recursive: true, force: true });
});

/**
 * Runs fn(page, shot) in a fresh 1280x800 browser context; records CSP
 * violations and page errors (which fail the test); on failure saves a
 * screenshot to tests/results/ first.
 */
async function inBrowser(t, fn) {
  const context = await browser.newContext({ locale: 'en-US', viewport: { width: 1280, height: 800 } });
  context.setDefaultTimeout(STEP_MS);
  const page = await context.newPage();
  const problems = [];
  page.on('console', (m) => { if (/Content.Security.Policy/i.test(m.text())) problems.push(m.text()); });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  const base = t.name.replace(/[^a-z0-9]+/gi, '-').toLowerCase().slice(0, 60);
  let n = 0;
  const shot = async (step) => {
    if (!SHOTS) return;
    fs.mkdirSync(RESULTS, { recursive: true });
    await page.screenshot({ path: path.join(RESULTS, `admin-ui-${base}-${++n}-${step}.png`), fullPage: true });
  };
  try {
    await fn(page, shot);
    assert.deepEqual(problems, [], 'no CSP violation and no script error');
  } catch (e) {
    fs.mkdirSync(RESULTS, { recursive: true });
    const file = path.join(RESULTS, `admin-ui-${base}.png`);
    await page.screenshot({ path: file, fullPage: true }).catch(() => {});
    e.message += `\n(screenshot: ${file}, page ${page.url()})`;
    throw e;
  } finally {
    await context.close();
  }
}

/** Signs in on the login view (the page is already at /admin/...). */
async function signIn(page, account) {
  await page.waitForSelector('#view-login:not([hidden])');
  await page.fill('#login-user', account.user);
  await page.fill('#login-password', account.password);
  await page.click('#login-submit');
  await page.waitForSelector('#view-login', { state: 'hidden' });
}

/** Opens a requester's editor from the list and waits for its policy to validate. */
async function openRequester(page, clientId) {
  await page.click(`tr[data-requester="${clientId}"] a.open`);
  await page.waitForURL((u) => u.hash === `#/requester/${clientId}`);
  await page.waitForSelector('#validation.ok');
}

/** The rows of a two-column table as {first cell: second cell}. */
async function tableOf(page, selector) {
  const rows = await page.$$eval(`${selector} tbody tr`, (trs) => trs.map((tr) =>
    [tr.querySelector('th').textContent.trim(), tr.querySelector('td').textContent.trim()]));
  return Object.fromEntries(rows);
}

const versionsOnDisk = (name) => {
  try { return fs.readdirSync(path.join(policyDir, name)).filter((f) => /^\d+\.json$/.test(f)).sort(); } catch { return []; }
};

describe('the administration UI', () => {
  test('the page and its assets come with the strict headers', async () => {
    for (const [p, type, cache] of [['/admin/', /^text\/html/, /no-store/], ['/admin/admin.js', /javascript/, /max-age=\d+/],
      ['/admin/admin.css', /^text\/css/, /max-age=\d+/]]) {
      const r = await fetch(broker.url + p);
      assert.equal(r.status, 200, p);
      assert.match(r.headers.get('content-type'), type, p);
      assert.match(r.headers.get('cache-control'), cache, p);
      assert.equal(r.headers.get('content-security-policy'), CSP, p);
      assert.equal(r.headers.get('x-content-type-options'), 'nosniff', p);
      assert.equal(r.headers.get('x-frame-options'), 'DENY', p);
    }
    const html = await (await fetch(`${broker.url}/admin/`)).text();
    assert.doesNotMatch(html, /<script>|<style|\sstyle=|\son[a-z]+=/i, 'no inline script or style');
    assert.equal((await fetch(`${broker.url}/admin/index.html`)).status, 404, 'one address for the page');
  });

  test('an editor moves the Tax office to age-only; the next login gets only age_over_18', async (t) => {
    const citizen = citizenByOutcome('OK'); // born 2000-01-01
    await inBrowser(t, async (page, shot) => {
      await page.goto(`${broker.url}/admin/`);
      await shot('login');
      await signIn(page, EDITOR);
      assert.equal(await page.textContent('#session-user'), `${EDITOR.user} (editor)`);
      await page.waitForSelector('tr[data-requester="tax"]');
      assert.equal(await page.textContent('tr[data-requester="tax"] td.version'), '0');
      assert.match(await page.textContent('tr[data-requester="tax"]'), /Tax office/);
      await shot('requesters');

      await openRequester(page, 'tax');
      assert.equal(await page.textContent('#editor-version'), '0');
      assert.equal(await page.inputValue('#f-profile'), 'full');
      assert.ok(await page.isChecked('#rel-date_of_birth'), 'full releases the birth date');
      assert.ok(await page.isHidden('#viewer-note'));
      assert.ok(await page.isEnabled('#f-profile'), 'an editor may edit');

      await page.selectOption('#f-profile', 'age-only');
      await page.waitForSelector('#validation.ok');
      assert.deepEqual(JSON.parse(await page.inputValue('#raw-json')), { profile: 'age-only' });
      assert.ok(await page.isChecked('#rel-age_over_18'), 'the profile releases age_over_18');
      assert.ok(await page.isChecked('#always-age_over_18'), '... always');
      assert.ok(!(await page.isChecked('#rel-date_of_birth')));
      assert.ok(!(await page.isChecked('#rel-given_name')));

      // a mistake is named next to the form, with its field
      await page.click('#tab-json');
      await page.fill('#raw-json', '{"profile": "age-only", "release": ["age_over_18", "shoe_size"]}');
      await page.waitForSelector('#validation.bad');
      assert.match(await page.textContent('#validation-error'), /release.*shoe_size|shoe_size.*release/);
      assert.ok(await page.isDisabled('#save'), 'an invalid policy cannot be saved');
      await page.fill('#raw-json', '{"profile": "age-only"}');
      await page.waitForSelector('#validation.ok');
      await page.click('#tab-form');

      await page.fill('#p-given-name', citizen.givenName);
      await page.fill('#p-family-name', citizen.surname);
      await page.fill('#p-date-of-birth', '2000-01-01');
      await page.fill('#p-country', 'EE');
      await page.fill('#p-scope', 'openid profile');
      await page.click('#preview-run');
      await page.waitForSelector('#preview-claims tr[data-claim]');
      assert.deepEqual(await tableOf(page, '#preview-claims'), { age_over_18: 'true' });
      await shot('preview');

      await page.fill('#f-why', 'Ticket 4711: the tax office only needs to know that the citizen is an adult');
      await page.click('#save');
      await page.waitForSelector('#save-status.ok');
      assert.match(await page.textContent('#save-status'), /version 1\b/);
      assert.equal(await page.textContent('#editor-version'), '1');
      const v1 = page.locator('#history li[data-version="1"]');
      await v1.waitFor();
      assert.match(await v1.textContent(), new RegExp(`${EDITOR.user}.*Ticket 4711`, 's'));
      await page.waitForSelector('#diff-changes tr[data-member="release"]');
      assert.match(await page.textContent('#diff-title'), /version 0 to version 1/);
      const releaseChange = await page.textContent('#diff-changes tr[data-member="release"]');
      assert.match(releaseChange, /date_of_birth/);
      assert.match(releaseChange, /age_over_18/);
      await shot('saved');

      const saved = JSON.parse(fs.readFileSync(path.join(policyDir, 'tax', '1.json'), 'utf8'));
      assert.deepEqual(saved.document, { profile: 'age-only' });
      assert.equal(saved.meta.by, EDITOR.user);

      await page.click('#back');
      await page.waitForSelector('#view-requesters:not([hidden])');
      await page.waitForFunction(() =>
        document.querySelector('tr[data-requester="tax"] td.version')?.textContent === '1');
    });

    await sleep(1200); // every worker picks a new version up within a second
    const flow = await login(broker.url, { clientId: 'tax', secret: TAX_SECRET, redirectUri: TAX_CB,
      scope: 'openid profile' }, citizen);
    const tokens = await oidc.authorizationCodeGrant(flow.config, flow.callback, {
      pkceCodeVerifier: flow.verifier, expectedState: flow.state, expectedNonce: flow.nonce, idTokenExpected: true,
    });
    const claims = tokens.claims();
    assert.equal(claims.age_over_18, true, JSON.stringify(claims));
    for (const claim of ['birthdate', 'given_name', 'family_name', 'gender']) {
      assert.equal(claims[claim], undefined, `no ${claim} in the ID token`);
    }
    assert.ok(!JSON.stringify(claims).includes(citizen.personalCode), 'the personal code is not released');
    const info = await oidc.fetchUserInfo(flow.config, tokens.access_token, claims.sub);
    assert.equal(info.birthdate, undefined);
    assert.equal(info.given_name, undefined);
  });

  test('a viewer sees the policy with every editing control disabled; the API refuses a save', async (t) => {
    const before = versionsOnDisk('tax');
    await inBrowser(t, async (page, shot) => {
      await page.goto(`${broker.url}/admin/#/requester/tax`);
      await signIn(page, VIEWER);
      await page.waitForSelector('#validation.ok');
      assert.equal(await page.textContent('#session-user'), `${VIEWER.user} (viewer)`);
      assert.ok(await page.isVisible('#viewer-note'));
      for (const sel of ['#f-profile', '#f-release-custom', '#rel-age_over_18', '#always-age_over_18', '#f-age-over',
        '#f-age-over-add', '#f-resident-add', '#f-min-loa', '#f-methods', '#f-countries', '#f-subject-type',
        '#f-sector', '#f-consent', '#f-why', '#save']) {
        assert.ok(await page.isDisabled(sel), `${sel} is disabled`);
      }
      assert.ok(!(await page.isEditable('#raw-json')), 'the JSON is read-only');
      for (const b of await page.$$('#history button.rollback')) assert.ok(await b.isDisabled(), 'no rollback');
      await page.click('#preview-run'); // previewing is reading
      await page.waitForSelector('#preview-claims tr[data-claim]');
      await shot('viewer');

      const answer = await page.evaluate(async () => {
        const s = await (await fetch('api/session')).json();
        const r = await fetch('api/policy?name=tax', {
          method: 'POST', headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': s.csrf },
          body: JSON.stringify({ document: { profile: 'full' }, why: 'a viewer tries', base_version: 1 }),
        });
        return { role: s.role, status: r.status, body: await r.json().catch(() => null) };
      });
      assert.equal(answer.role, 'viewer');
      assert.equal(answer.status, 403, JSON.stringify(answer.body));

      await page.click('#logout');
      await page.waitForSelector('#view-login:not([hidden])');
      await page.reload();
      await page.waitForSelector('#view-login:not([hidden])'); // the session is gone on the server too
    });
    assert.deepEqual(versionsOnDisk('tax'), before, 'the refused change changed nothing');
  });

  test('two editors: the second save gets "someone else changed it", then a rollback', async (t) => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const other = await context.newPage();
    try {
      await inBrowser(t, async (page, shot) => {
        await page.goto(`${broker.url}/admin/#/requester/city`);
        await signIn(page, EDITOR);
        await page.waitForSelector('#validation.ok');
        assert.equal(await page.textContent('#editor-version'), '0');

        // meanwhile the other editor saves first
        await other.goto(`${broker.url}/admin/#/requester/city`);
        await signIn(other, EDITOR2);
        await other.waitForSelector('#validation.ok');
        await other.fill('#f-countries', 'EE, LV');
        await other.waitForSelector('#validation.ok');
        await other.fill('#f-why', 'only Estonian and Latvian identities');
        await other.click('#save');
        await other.waitForSelector('#save-status.ok');

        await page.selectOption('#f-consent', 'true');
        await page.waitForSelector('#validation.ok');
        await page.fill('#f-why', 'ask the citizen first');
        await page.click('#save');
        await page.waitForSelector('#save-conflict:not([hidden])');
        assert.match(await page.textContent('#save-conflict'), /someone else changed this policy/i);
        assert.match(await page.textContent('#save-conflict-detail'), new RegExp(`Version 1 was saved by ${EDITOR2.user}`));
        assert.ok(await page.isDisabled('#save'));
        await shot('conflict');
        assert.deepEqual(versionsOnDisk('city'), ['1.json']);

        await page.click('#reload-latest');
        await page.waitForFunction(() => document.getElementById('editor-version').textContent === '1');
        assert.equal(await page.inputValue('#f-countries'), 'EE, LV');
        assert.ok(await page.isHidden('#save-conflict'));

        await page.click('#history li[data-version="0"] button.rollback');
        await page.fill('#rollback-why', 'all countries again');
        await page.click('#rollback-confirm');
        await page.waitForSelector('#save-status.ok');
        assert.match(await page.textContent('#save-status'), /version 2\b/);
        assert.equal(await page.textContent('#editor-version'), '2');
        assert.equal(await page.inputValue('#f-countries'), '');
        await page.waitForSelector('#diff-changes tr[data-member="countries"]');
        await shot('rollback');
      });
    } finally {
      await context.close();
    }
  });
});
