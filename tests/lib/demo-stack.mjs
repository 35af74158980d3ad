// The demo set-up, shared by `./dev demo` (tests/lib/demo.mjs) and the browser
// tests: real Redis, the Mobile-ID and Smart-ID simulators, a national OpenID
// Connect eID provider (tests/sim/national-oidc.mjs, profile "ee"), eidhub
// (real nginx with the module) with its mobile_id, smart_id and oidc_upstream
// backends pointing at them, and three demo portals that log citizens in
// through eidhub with OpenID Connect:
//
//   City portal     client "city-portal"     policy "basic"     pairwise subject
//   Youth services  client "youth-services"  policy "age-only"  pairwise subject
//   Tax office      client "tax-office"      policy "full"      public subject (EE + personal code)
//
// The three methods share a citizen: Mary Änn O’Connež-Šuslik, personal code
// 60001019906, is the Mobile-ID and Smart-ID simulators' OK citizen and the
// national provider's test citizen (whose personal_code claim is eidhub's
// subject: EE60001019906), so a portal gets the same subject whichever
// method she uses.
//
// Each portal gets a fresh random client secret; the broker's configuration
// holds only its SHA-256. Administrators edit the portals' policies at
// /admin/ (one editor account with a fresh random password, returned as
// admin: {user, password}).
//
// Cross-border eIDAS: eidhub is also Estonia's eIDAS node (country "EE",
// its "saml" member) and its eidas_connector backend offers Latvia
// ("method-eidas_connector-lv"). A second eidhub instance, on 127.0.0.2 (so
// that a browser keeps its cookies apart from the first one's: both use the
// same cookie names), plays Latvia's eIDAS Proxy-Service (country "LV"): its
// citizens authenticate there with the Mobile-ID simulator, and it answers
// the Estonian Connector with policy "full". Each node trusts the other's
// signed metadata, fetched at first use, with the other's signing
// certificate. The simulator's citizens have Estonian personal codes, so the
// Latvian node asserts "LV/EE/EE60001019906" for Mary Änn and a portal with
// a public subject sees LVEE60001019906.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {
  freePort, mobileIdSettings, passwordHash, policyDirectory, smartIdSettings, startBroker, startMobileIdSim,
  startRedis, startSmartIdSim, tmpdir,
} from './harness.mjs';
import { startDemoPortal } from './demo-portal.mjs';
import { startDemoProtectedApp } from './demo-protected-app.mjs';
import { samlNode } from './saml-node.mjs';
import { nationalProviderSettings, startNationalOidcProcess } from './oidc-upstream.mjs';

/** The national OpenID Connect provider's id in eidhub (method link "method-oidc_upstream-ee"). */
export const DEMO_OIDC_PROVIDER = 'ee';

export const DEMO_PORTALS = Object.freeze([
  { clientId: 'city-portal', title: 'City portal', displayName: { en: 'City portal', et: 'Linnaportaal' },
    policy: 'basic', subjectType: 'pairwise' },
  { clientId: 'youth-services', title: 'Youth services', displayName: { en: 'Youth services', et: 'Noorteteenused' },
    policy: 'age-only', subjectType: 'pairwise', scope: 'openid age_over_18' },
  { clientId: 'tax-office', title: 'Tax office', displayName: { en: 'Tax office', et: 'Maksuamet' },
    policy: 'full', subjectType: 'public' },
]);

// Relaxed Mobile-ID rate limits, so that someone trying the demo (or a test
// run) is not locked out after five logins of the same test citizen.
const DEMO_RATE_LIMIT = { per_person: 50, per_phone: 50, per_client_address: 500, window_seconds: 300 };
const DEMO_SID_RATE_LIMIT = { per_person: 50, per_client_address: 500, window_seconds: 300 };

const sha256hex = (s) => crypto.createHash('sha256').update(s).digest('hex');

/** The foreign eIDAS country of the demo and how Estonian citizens see it on the method choice. */
export const DEMO_EIDAS_COUNTRY = Object.freeze({
  country: 'LV', displayName: Object.freeze({ en: 'Latvia (eIDAS)', et: 'Läti (eIDAS)' }),
});

/** The broker's relying_parties entry of a portal at url. */
function relyingParty(portal, url, secret) {
  return {
    client_id: portal.clientId,
    client_secret_sha256: sha256hex(secret),
    redirect_uris: [`${url}/callback`],
    post_logout_redirect_uris: [`${url}/`],
    backchannel_logout_uri: `${url}/backchannel-logout`,
    display_name: portal.displayName,
    policy: portal.policy,
    subject_type: portal.subjectType,
  };
}

/** Stops what was started, last first, ignoring what is already gone. */
async function stopAll(handles) {
  for (const h of [...handles].reverse()) {
    try { await h.stop(); } catch { /* already stopped */ }
  }
}

/**
 * Starts the demo. port: eidhub's port (the portals take the next ones), or
 * free ports when absent (the Latvian node always takes a free port, on
 * 127.0.0.2); delayMs: how long the simulated phone (Mobile-ID) and app
 * (Smart-ID) take. Returns {broker, redis, sim (Mobile-ID), sidSim,
 * oidc: the national provider ({url, citizens, pid, dir, ...}),
 * lv: Latvia's eIDAS Proxy-Service (a second eidhub: {url, pid, dir, ...}),
 * portals: [{...DEMO_PORTALS[i], url, secret}], admin: {url, user, password}, stop()}.
 */
export async function startDemoStack({ port, delayMs = 3000 } = {}) {
  const brokerPort = port ?? await freePort();
  const portals = [];
  for (const [i, p] of DEMO_PORTALS.entries()) {
    const portalPort = port ? port + 1 + i : await freePort();
    portals.push({ ...p, port: portalPort, url: `http://127.0.0.1:${portalPort}`,
      secret: crypto.randomBytes(24).toString('base64url') });
  }

  // an application behind eidhub_protect, served under /permits/ of eidhub's own server
  const permitsPort = port ? port + 1 + DEMO_PORTALS.length : await freePort();
  const admin = { user: 'admin', password: crypto.randomBytes(12).toString('base64url') };
  const policyDir = policyDirectory();
  const lvPort = await freePort();
  const brokerUrl = `http://127.0.0.1:${brokerPort}`, lvUrl = `http://127.0.0.2:${lvPort}`;
  const brokerDir = tmpdir('eidhub-nginx-'), lvDir = tmpdir('eidhub-nginx-lv-');
  // stopped last (the brokers' stop() removes their own folders; these are also for a failure before they start)
  const started = [{ stop: async () => {
    for (const d of [policyDir, brokerDir, lvDir]) fs.rmSync(d, { recursive: true, force: true });
  } }];
  try {
    // started side by side: the Smart-ID simulator's RSA keys take a few seconds
    const oidcClient = { clientId: 'eidhub-demo', clientSecret: crypto.randomBytes(24).toString('base64url') };
    const services = [
      startRedis(),
      startMobileIdSim({ delayMs }),
      startSmartIdSim({ delayMs }),
      startNationalOidcProcess({ profile: 'ee', ...oidcClient,
        redirectUri: `${brokerUrl}/auth/oidc/callback` }),
    ];
    // the nodes' RSA keys are made while the simulators start
    const keys = Promise.all([samlNode(brokerDir, 'EE'), samlNode(lvDir, DEMO_EIDAS_COUNTRY.country)]);
    const results = await Promise.allSettled([...services, keys]);
    const made = results.pop();
    for (const r of results) if (r.status === 'fulfilled') started.push(r.value);
    const failed = [...results, made].find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    const [eeNode, lvNode] = made.value;
    const [redis, sim, sidSim, oidc] = results.map((r) => r.value);
    const permits = await startDemoProtectedApp({ port: permitsPort });
    started.push(permits);
    const broker = await startBroker({
      dir: brokerDir,
      port: brokerPort,
      store: redis.url,
      extraServer: `location /permits/ { eidhub_protect city-permits; proxy_pass http://127.0.0.1:${permits.port}; }`,
      broker: {
        saml: eeNode.settings,
        relying_parties: [...portals.map((p) => relyingParty(p, p.url, p.secret)),
          { client_id: 'city-permits', redirect_uris: [`${brokerUrl}/protect/callback`], policy: 'basic',
            display_name: { en: 'Parking permits', et: 'Parkimisload' } }],
        backends: {
          mobile_id: mobileIdSettings(sim, { rate_limit: DEMO_RATE_LIMIT }),
          smart_id: smartIdSettings(sidSim, { rate_limit: DEMO_SID_RATE_LIMIT }),
          oidc_upstream: { providers: [nationalProviderSettings(DEMO_OIDC_PROVIDER, oidc, oidcClient)] },
          eidas_connector: {
            countries: [{ country: DEMO_EIDAS_COUNTRY.country, metadata: `${lvUrl}/saml/proxy/metadata`,
              trust_anchor_file: lvNode.signingCert, display_name: DEMO_EIDAS_COUNTRY.displayName }],
          },
        },
        policy_dir: policyDir,
        admin: { accounts: [{ user: admin.user, password_hash: passwordHash(admin.password), role: 'editor' }] },
      },
    });
    started.push(broker);
    // Latvia's eIDAS Proxy-Service: Latvian citizens (the Mobile-ID simulator's) log in to Estonian portals
    const lv = await startBroker({
      dir: lvDir,
      port: lvPort,
      host: '127.0.0.2',
      store: redis.url,
      broker: {
        saml: lvNode.settings,
        backends: { mobile_id: mobileIdSettings(sim, { rate_limit: DEMO_RATE_LIMIT }) },
        eidas_proxy: {
          connectors: [{ id: 'ee', metadata: `${brokerUrl}/saml/connector/metadata`,
            trust_anchor_file: eeNode.signingCert, policy: 'full',
            display_name: { en: 'Estonian e-services (eIDAS)', et: 'Eesti e-teenused (eIDAS)' } }],
        },
      },
    });
    started.push(lv);
    for (const p of portals) {
      const portal = await startDemoPortal({ port: p.port, issuer: broker.url, clientId: p.clientId,
        clientSecret: p.secret, title: p.title, scope: p.scope ?? 'openid profile' });
      started.push(portal);
      p.backchannel = portal.backchannel;
    }
    return { broker, lv, redis, sim, sidSim, oidc, portals, protectedApp: { url: `${broker.url}/permits/` },
      admin: { ...admin, url: `${broker.url}/admin/` }, stop: () => stopAll(started) };
  } catch (e) {
    await stopAll(started);
    throw e;
  }
}
