// Browser tests: real Chromium (Debian's, headless, driven by playwright-core)
// walks the citizen journey of the demo set-up (tests/lib/demo-stack.mjs:
// Redis, the Mobile-ID and Smart-ID simulators, the national OpenID Connect
// provider, eidhub, the City portal and the Tax office): portal → eidhub's
// method choice → Mobile-ID form → verification code page → back at the
// portal, logged in with only what the portal's policy allows. Also without
// JavaScript (the meta refresh), a cancelled login, a bad personal code, the
// Estonian pages, and the same citizen by Mobile-ID, Smart-ID and the
// national provider getting the same pairwise subject, and a Latvian citizen coming
// through Latvia's eIDAS node (the demo's second eidhub, on 127.0.0.2) by eIDAS SAML.
// A failing test leaves a screenshot of its page in tests/results/.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { chromium } from 'playwright-core';
import { DEMO_EIDAS_COUNTRY, DEMO_OIDC_PROVIDER, startDemoStack } from '../lib/demo-stack.mjs';
import { citizenByOutcome } from '../sim/mobile-id.mjs';
import { accountByOutcome } from '../sim/smart-id.mjs';

const RESULTS = path.resolve(import.meta.dirname, '../results');
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const STEP_MS = 10000; // upper bound on any one page step

let stack, browser, city, tax;

before(async () => {
  stack = await startDemoStack({ delayMs: 500 });
  const portal = (id) => stack.portals.find((p) => p.clientId === id);
  [city, tax] = [portal('city-portal'), portal('tax-office')];
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS });
});
after(async () => { await browser?.close(); await stack?.stop(); });

/**
 * Runs fn(page) in a fresh browser context (own cookies, English browser);
 * if it throws, saves a screenshot of the page to tests/results/ first.
 */
async function inBrowser(t, contextOptions, fn) {
  const context = await browser.newContext({ locale: 'en-US', ...contextOptions });
  context.setDefaultTimeout(STEP_MS);
  const page = await context.newPage();
  try {
    await fn(page);
  } catch (e) {
    fs.mkdirSync(RESULTS, { recursive: true });
    const file = path.join(RESULTS, `browser-${t.name.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}.png`);
    await page.screenshot({ path: file, fullPage: true }).catch(() => {});
    e.message += `\n(screenshot: ${file}, page ${page.url()})`;
    throw e;
  } finally {
    await context.close();
  }
}

/** From the portal's home page to eidhub's method choice. */
async function toMethodChoice(page, portal) {
  await page.goto(`${portal.url}/`);
  await page.click('#login');
  await page.waitForURL((u) => u.pathname === '/login');
}

/** From the portal's home page to eidhub's Mobile-ID form. */
async function startLogin(page, portal) {
  await toMethodChoice(page, portal);
  await page.click('#method-mobile_id');
  await page.waitForURL((u) => u.pathname === '/auth/mid');
}

/** Fills the Mobile-ID form and submits it. */
async function submitMobileId(page, citizen) {
  await page.fill('#phone', citizen.phone);
  await page.fill('#personal_code', citizen.personalCode);
  await page.click('#mid-submit');
}

/** Submits the form, checks the verification code page, waits for what comes after it. */
async function answerOnPhone(page, citizen) {
  await submitMobileId(page, citizen);
  // read the code as soon as the page is parsed: its script leaves as soon as the phone answers
  await page.waitForURL((u) => u.pathname === '/auth/mid/wait', { waitUntil: 'domcontentloaded' });
  assert.match((await page.textContent('#verification-code')).trim(), /^\d{4}$/);
  await page.waitForURL((u) => u.pathname !== '/auth/mid/wait');
}

/** The portal's claims table as an object. */
async function claimsOf(page) {
  const rows = await page.$$eval('#claims tr', (trs) => trs.map((tr) =>
    [tr.querySelector('th').textContent, tr.querySelector('td').textContent]));
  return Object.fromEntries(rows);
}

/** Names compared as Mobile-ID certificates carry them: in capitals (SK's subjects are upper case). */
function assertName(actual, expected) {
  assert.equal(actual?.toLocaleUpperCase('et'), expected.toLocaleUpperCase('et'));
}

/** A whole successful login; returns the claims the portal shows. */
async function logIn(page, portal, citizen) {
  await startLogin(page, portal);
  await answerOnPhone(page, citizen);
  await page.waitForURL(`${portal.url}/`);
  assert.match(await page.textContent('h1'), /Logged in/);
  return claimsOf(page);
}

describe('a citizen logs in to a demo portal in Chromium', () => {
  test('City portal: basic policy, pairwise subject', async (t) => {
    const citizen = citizenByOutcome('OK');
    await inBrowser(t, {}, async (page) => {
      const claims = await logIn(page, city, citizen);
      assertName(claims.given_name, citizen.givenName);
      assertName(claims.family_name, citizen.surname);
      assert.equal(claims.birthdate, undefined, 'the basic policy does not release the birth date');
      assert.ok(claims.sub);
      assert.notEqual(claims.sub, `EE${citizen.personalCode}`);
      assert.ok(!(await page.content()).includes(citizen.personalCode), 'the personal code is not shown');
      await page.click('#logout');
      assert.equal(await page.locator('#login').count(), 1);
    });
  });

  test('without JavaScript the meta refresh completes the login', async (t) => {
    const citizen = citizenByOutcome('OK');
    await inBrowser(t, { javaScriptEnabled: false }, async (page) => {
      const claims = await logIn(page, city, citizen);
      assertName(claims.given_name, citizen.givenName);
      assert.equal(claims.birthdate, undefined);
    });
  });

  test('Tax office: full policy, public subject', async (t) => {
    const citizen = citizenByOutcome('OK_EC');
    await inBrowser(t, {}, async (page) => {
      const claims = await logIn(page, tax, citizen);
      assert.equal(claims.sub, `EE${citizen.personalCode}`);
      assert.equal(claims.birthdate, citizen.dateOfBirth);
      assertName(claims.given_name, citizen.givenName);
      assertName(claims.family_name, citizen.surname);
    });
  });
});

describe('the same citizen by each method', () => {
  test('Mobile-ID, Smart-ID and the national OIDC provider give the City portal the same pairwise sub', async (t) => {
    const citizen = citizenByOutcome('OK');
    const account = accountByOutcome('OK_ALSO_MOBILE_ID');
    const op = stack.oidc;
    const [opKey, opCitizen] = Object.entries(op.citizens).find(([, c]) => c.personal_code === citizen.personalCode);
    assert.equal(account.personalCode, citizen.personalCode);
    const subs = {};

    await inBrowser(t, {}, async (page) => {
      await toMethodChoice(page, city);
      for (const id of ['#method-mobile_id', '#method-smart_id', `#method-oidc_upstream-${DEMO_OIDC_PROVIDER}`]) {
        assert.equal(await page.locator(id).count(), 1, `the method choice offers ${id}`);
      }
      await page.click('#method-mobile_id');
      await page.waitForURL((u) => u.pathname === '/auth/mid');
      await answerOnPhone(page, citizen);
      await page.waitForURL(`${city.url}/`);
      const claims = await claimsOf(page);
      assertName(claims.given_name, citizen.givenName);
      subs.mobile_id = claims.sub;
    });

    await inBrowser(t, {}, async (page) => {
      await toMethodChoice(page, city);
      await page.click('#method-smart_id');
      await page.waitForURL((u) => u.pathname === '/auth/sid');
      await page.selectOption('#country', account.country);
      await page.fill('#personal_code', account.personalCode);
      await page.click('#sid-submit');
      await page.waitForURL((u) => u.pathname === '/auth/sid/wait', { waitUntil: 'domcontentloaded' });
      assert.match((await page.textContent('#verification-code')).trim(), /^\d{4}$/);
      await page.waitForURL(`${city.url}/`);
      assert.match(await page.textContent('h1'), /Logged in/);
      const claims = await claimsOf(page);
      assertName(claims.given_name, account.givenName);
      assertName(claims.family_name, account.surname);
      subs.smart_id = claims.sub;
    });

    await inBrowser(t, {}, async (page) => {
      await toMethodChoice(page, city);
      await page.click(`#method-oidc_upstream-${DEMO_OIDC_PROVIDER}`);
      // the provider's own login page: choose the test citizen and log in
      await page.waitForURL((u) => u.origin === op.url && u.pathname.startsWith('/interaction/'));
      assert.match(await page.textContent('h1'), new RegExp(op.displayName.en.replace(/[()]/g, '\\$&')));
      await page.selectOption('select[name=citizen]', opKey);
      await page.click('#login');
      await page.waitForURL(`${city.url}/`);
      assert.match(await page.textContent('h1'), /Logged in/);
      const claims = await claimsOf(page);
      assert.equal(claims.given_name, opCitizen.given_name);
      assert.equal(claims.family_name, opCitizen.family_name);
      subs.oidc_upstream = claims.sub;
    });

    assert.ok(subs.mobile_id, 'a sub by Mobile-ID');
    assert.notEqual(subs.mobile_id, `EE${citizen.personalCode}`, 'the sub is pairwise, not the personal code');
    assert.deepEqual(subs, { mobile_id: subs.mobile_id, smart_id: subs.mobile_id, oidc_upstream: subs.mobile_id });
  });
});

describe('when a login does not succeed', () => {
  test('cancelled on the phone: the message, then cancel returns access_denied to the portal', async (t) => {
    await inBrowser(t, {}, async (page) => {
      await startLogin(page, city);
      await answerOnPhone(page, citizenByOutcome('USER_CANCELLED'));
      assert.match(await page.textContent('#error'), /You cancelled the login on your phone/);
      assert.equal(await page.locator('#try-again').count(), 1);
      await page.click('#cancel');
      await page.waitForURL(`${city.url}/`);
      assert.match(await page.textContent('#portal-error'), /access_denied/);
      assert.equal(await page.locator('#claims').count(), 0);
    });
  });

  test('a bad personal code is refused on the form, without asking Mobile-ID', async (t) => {
    const badCode = '60001019907'; // the OK citizen's code with a wrong check digit
    await inBrowser(t, {}, async (page) => {
      await startLogin(page, city);
      await submitMobileId(page, { ...citizenByOutcome('OK'), personalCode: badCode });
      await page.waitForSelector('#error');
      assert.equal(new URL(page.url()).pathname, '/auth/mid');
      assert.match(await page.textContent('#error'), /personal identification code is not valid/);
      assert.equal(await page.inputValue('#personal_code'), badCode, 'the form keeps what was entered');
      assert.ok(!fs.readFileSync(path.join(stack.sim.dir, 'sim.log'), 'utf8').includes(badCode),
        'the simulator was not called');
    });
  });
});

describe('Estonian', () => {
  test('ui_locales=et gives Estonian pages even to an English browser', async (t) => {
    await inBrowser(t, {}, async (page) => {
      await page.goto(`${city.url}/?lang=et`);
      await page.click('#login');
      await page.waitForURL((u) => u.pathname === '/login');
      assert.equal(await page.getAttribute('html', 'lang'), 'et');
      const choice = await page.textContent('main');
      assert.match(choice, /Valige, kuidas tõendate oma isikut/);
      assert.match(choice, /Linnaportaal/, 'the portal is named in Estonian');
      assert.match(await page.textContent('#method-mobile_id'), /Mobiil-ID/);
      await page.click('#method-mobile_id');
      await page.waitForURL((u) => u.pathname === '/auth/mid');
      assert.match(await page.textContent('h1'), /Sisselogimine Mobiil-ID-ga/);
      assert.match(await page.textContent('label[for=personal_code]'), /Isikukood/);
      await answerOnPhone(page, citizenByOutcome('USER_CANCELLED'));
      assert.match(await page.textContent('#error'), /Te katkestasite sisselogimise telefonis/);
      assert.match(await page.textContent('#try-again'), /Proovi uuesti/);
    });
  });
});

describe('single sign-on, "My eidhub" and logout across the demo portals', () => {
  test('one Mobile-ID login, two portals, both releases listed, one logout ends both', async (t) => {
    const citizen = citizenByOutcome('OK');
    await inBrowser(t, {}, async (page) => {
      const cityClaims = await logIn(page, city, citizen);
      // the Tax office: no Mobile-ID prompt, but the citizen sees who asks
      await page.goto(`${tax.url}/`);
      await page.click('#login');
      await page.waitForURL((u) => u.pathname === '/sso');
      assert.equal((await page.textContent('#sso-requester')).trim(), 'Tax office');
      await page.click('#sso-continue');
      await page.waitForURL(`${tax.url}/`);
      const taxClaims = await claimsOf(page);
      assert.equal(taxClaims.sub, `EE${citizen.personalCode}`);
      assert.notEqual(cityClaims.sub, taxClaims.sub);
      // the citizen's own page lists both releases, by attribute name only
      await page.click('#my-eidhub');
      await page.waitForURL((u) => u.pathname === '/me');
      // newest first (earlier tests may have logged the same citizen in before)
      const rows = await page.$$eval('#releases tr', (trs) => trs.slice(1, 3).map((tr) => tr.textContent));
      assert.ok(rows[0].includes('Tax office') && rows[0].includes('date_of_birth'), rows[0]);
      assert.ok(rows[1].includes('City portal') && !rows[1].includes('date_of_birth'), rows[1]);
      assert.ok(!rows.join(' ').includes(citizen.dateOfBirth), 'names of attributes, never values');
      // logging out at the City portal ends the Tax office's session too
      const before = tax.backchannel.length;
      await page.goto(`${city.url}/`);
      await page.click('#logout');
      await page.waitForURL(`${city.url}/`);
      assert.ok(await page.$('#login'), 'logged out at the City portal');
      assert.equal(tax.backchannel.length, before + 1, 'the Tax office received a logout token');
      assert.equal(tax.backchannel.at(-1).ended, 1);
      await page.goto(`${tax.url}/`);
      assert.ok(await page.$('#login'), 'logged out at the Tax office');
    });
  });
});

/**
 * Records every page the browser loads (top-level navigations): status,
 * URL, and whether it is an error page (an HTTP error, or eidhub's or a
 * portal's error paragraph). Returns a function that resolves to the list.
 */
function recordPages(page) {
  const seen = [];
  page.on('response', (r) => {
    if (!r.request().isNavigationRequest() || r.request().frame() !== page.mainFrame()) return;
    const status = r.status();
    seen.push((status >= 300 && status < 400 ? Promise.resolve('') : r.text().catch(() => ''))
      .then((body) => ({ status, url: r.url(), errorPage: status >= 400 || /class="error"/.test(body) })));
  });
  return () => Promise.all(seen);
}

/**
 * A Latvian citizen's login at portal, with the Mobile-ID simulator's
 * citizen at Latvia's eIDAS node: eidhub's method choice → Latvia (eIDAS) →
 * the AuthnRequest auto-submitted to the Latvian node (127.0.0.2) → its
 * method choice → Mobile-ID → its Response auto-submitted to eidhub's ACS
 * (a cross-site POST, then a 303 to /auth/eidas/return) → the portal.
 * Returns the portal's claims tables and the pages the browser loaded.
 */
async function logInThroughLatvia(page, portal, citizen, { lang } = {}) {
  const pages = recordPages(page);
  const lv = stack.lv.url;
  await page.goto(`${portal.url}/${lang ? `?lang=${lang}` : ''}`);
  await page.click('#login');
  await page.waitForURL((u) => u.pathname === '/login');
  const method = `#method-eidas_connector-${DEMO_EIDAS_COUNTRY.country.toLowerCase()}`;
  assert.equal((await page.textContent(method)).trim(), DEMO_EIDAS_COUNTRY.displayName[lang ?? 'en']);
  await page.click(method);
  // the SAML request leaves by itself for the Latvian node, which asks how its citizen logs in
  await page.waitForURL((u) => u.origin === lv && u.pathname === '/login');
  assert.match(await page.textContent('.requester'), /Estonian e-services \(eIDAS\)/);
  await page.click('#method-mobile_id');
  await page.waitForURL((u) => u.origin === lv && u.pathname === '/auth/mid');
  await answerOnPhone(page, citizen);
  // the SAML response leaves by itself for eidhub, which sends the citizen back to the portal
  await page.waitForURL(`${portal.url}/`);
  assert.match(await page.textContent('h1'), /Logged in/);
  const claims = await claimsOf(page);
  const idToken = Object.fromEntries(await page.$$eval('#id-token tr', (trs) => trs.map((tr) =>
    [tr.querySelector('th').textContent, tr.querySelector('td').textContent])));
  return { claims, idToken, pages: await pages() };
}

/** Checks that the login went through both nodes and met no error page. */
function assertCrossBorderPages(pages, portal) {
  const errors = pages.filter((p) => p.errorPage);
  assert.deepEqual(errors, [], 'no error page on the way');
  const paths = pages.map((p) => `${new URL(p.url).origin === stack.lv.url ? 'lv' : 'ee'}:${new URL(p.url).pathname}`);
  for (const step of ['ee:/auth/eidas', 'lv:/saml/proxy/sso', 'lv:/auth/mid', 'ee:/auth/eidas/acs', 'ee:/auth/eidas/return']) {
    assert.ok(paths.includes(step), `the browser went through ${step}: ${paths.join(' ')}`);
  }
  assert.equal(pages.at(-1).url, `${portal.url}/`);
}

describe('a Latvian citizen logs in through Latvia\'s eIDAS node in Chromium', () => {
  test('Tax office: full policy, public subject LV + the identifier the Latvian node asserted', async (t) => {
    const citizen = citizenByOutcome('OK');
    await inBrowser(t, {}, async (page) => {
      const { claims, idToken, pages } = await logInThroughLatvia(page, tax, citizen);
      assertCrossBorderPages(pages, tax);
      // the Latvian node asserts LV/EE/EE<code> (its citizens' codes are Estonian); eidhub's subject is LV + EE<code>
      assert.equal(claims.sub, `LVEE${citizen.personalCode}`);
      assert.equal(idToken.sub, claims.sub);
      assert.equal(idToken.amr, JSON.stringify(['eidas']));
      assert.equal(idToken.acr, 'high');
      assertName(claims.given_name, citizen.givenName);
      assertName(claims.family_name, citizen.surname);
      assert.equal(claims.birthdate, citizen.dateOfBirth);
    });
  });

  test('City portal in Estonian: basic policy, a pairwise subject, no birth date', async (t) => {
    const citizen = citizenByOutcome('OK');
    await inBrowser(t, {}, async (page) => {
      const { claims, pages } = await logInThroughLatvia(page, city, citizen, { lang: 'et' });
      assertCrossBorderPages(pages, city);
      assertName(claims.given_name, citizen.givenName);
      assertName(claims.family_name, citizen.surname);
      assert.equal(claims.birthdate, undefined, 'the basic policy does not release the birth date');
      assert.ok(claims.sub);
      assert.ok(!claims.sub.includes(citizen.personalCode), 'the subject is pairwise');
      assert.ok(!(await page.content()).includes(citizen.personalCode), 'the personal code is not shown');
    });
  });
});
