// The demo set-up, shared by `./dev demo` (tests/lib/demo.mjs) and the browser
// tests: real Redis, the Mobile-ID simulator, eidhub (real nginx with the
// module) with the mobile_id backend pointing at the simulator, and two demo
// portals that log citizens in through eidhub with OpenID Connect:
//
//   City portal  client "city-portal"  policy "basic"  pairwise subject
//   Tax office   client "tax-office"   policy "full"   public subject (EE + personal code)
//
// Each portal gets a fresh random client secret; the broker's configuration
// holds only its SHA-256.
import crypto from 'node:crypto';
import { freePort, mobileIdSettings, startBroker, startMobileIdSim, startRedis } from './harness.mjs';
import { startDemoPortal } from './demo-portal.mjs';

export const DEMO_PORTALS = Object.freeze([
  { clientId: 'city-portal', title: 'City portal', displayName: { en: 'City portal', et: 'Linnaportaal' },
    policy: 'basic', subjectType: 'pairwise' },
  { clientId: 'tax-office', title: 'Tax office', displayName: { en: 'Tax office', et: 'Maksuamet' },
    policy: 'full', subjectType: 'public' },
]);

// Relaxed Mobile-ID rate limits, so that someone trying the demo (or a test
// run) is not locked out after five logins of the same test citizen.
const DEMO_RATE_LIMIT = { per_person: 50, per_phone: 50, per_client_address: 500, window_seconds: 300 };

const sha256hex = (s) => crypto.createHash('sha256').update(s).digest('hex');

/** The broker's relying_parties entry of a portal at url. */
function relyingParty(portal, url, secret) {
  return {
    client_id: portal.clientId,
    client_secret_sha256: sha256hex(secret),
    redirect_uris: [`${url}/callback`],
    post_logout_redirect_uris: [`${url}/`],
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
 * free ports when absent; delayMs: how long the simulated phone takes.
 * Returns {broker, redis, sim, portals: [{...DEMO_PORTALS[i], url, secret}], stop()}.
 */
export async function startDemoStack({ port, delayMs = 3000 } = {}) {
  const brokerPort = port ?? await freePort();
  const portals = [];
  for (const [i, p] of DEMO_PORTALS.entries()) {
    const portalPort = port ? port + 1 + i : await freePort();
    portals.push({ ...p, port: portalPort, url: `http://127.0.0.1:${portalPort}`,
      secret: crypto.randomBytes(24).toString('base64url') });
  }

  const started = [];
  try {
    const redis = await startRedis();
    started.push(redis);
    const sim = await startMobileIdSim({ delayMs });
    started.push(sim);
    const broker = await startBroker({
      port: brokerPort,
      store: redis.url,
      broker: {
        relying_parties: portals.map((p) => relyingParty(p, p.url, p.secret)),
        backends: { mobile_id: mobileIdSettings(sim, { rate_limit: DEMO_RATE_LIMIT }) },
      },
    });
    started.push(broker);
    for (const p of portals) {
      const portal = await startDemoPortal({ port: p.port, issuer: broker.url, clientId: p.clientId,
        clientSecret: p.secret, title: p.title, scope: 'openid profile' });
      started.push(portal);
    }
    return { broker, redis, sim, portals, stop: () => stopAll(started) };
  } catch (e) {
    await stopAll(started);
    throw e;
  }
}
