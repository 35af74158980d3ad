// ./dev demo: runs the demo set-up of tests/lib/demo-stack.mjs (Redis, the
// Mobile-ID and Smart-ID simulators, a national OpenID Connect provider,
// eidhub on EH_DEMO_PORT or 8080, three demo portals on the next ports, the
// admin UI, and a second eidhub as Latvia's eIDAS node on 127.0.0.2) and prints where to go and whom to log in as, so a newcomer
// can try a login in a browser. Ctrl-C stops everything it started.
import { DEMO_EIDAS_COUNTRY, startDemoStack } from './demo-stack.mjs';
import { CITIZENS } from '../sim/mobile-id.mjs';
import { ACCOUNTS } from '../sim/smart-id.mjs';

const DELAY_MS = 3000;

/** Rows of text with columns padded to their widest cell. */
function table(rows) {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => '  ' + r.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd()).join('\n');
}

function citizensTable() {
  return table([
    ['phone', 'personal code', 'name', 'expected outcome'],
    ...CITIZENS.map((c) => [c.phone, c.personalCode, `${c.givenName} ${c.surname}`,
      c.authenticates ? 'logs in' : `refused: ${c.outcome}`]),
  ]);
}

function smartIdTable() {
  return table([
    ['country', 'personal code', 'name', 'expected outcome'],
    // the demo asks for QUALIFIED certificates (the default): an ADVANCED-only account gets 471
    ...ACCOUNTS.map((a) => [a.country, a.personalCode, `${a.givenName} ${a.surname}`,
      a.authenticates && a.certificateLevel === 'ADVANCED' ? 'refused: HTTP_471 (ADVANCED certificate only)'
        : a.authenticates ? 'logs in' : `refused: ${a.outcome}`]),
  ]);
}

function oidcTable(oidc) {
  return table([
    ['choose', 'personal code (claim personal_code)', 'level'],
    ...Object.values(oidc.citizens).map((c) => [`${c.given_name} ${c.family_name}`, c.personal_code, c.acr]),
  ]);
}

function portalsTable(portals) {
  return table(portals.map((p) => [`${p.title}:`, `${p.url}/`,
    `client ${p.clientId}, policy ${p.policy}, ${p.subjectType} subject`]));
}

const stack = await startDemoStack({ port: Number(process.env.EH_DEMO_PORT ?? 8080), delayMs: DELAY_MS });
const { broker, lv, redis, sim, sidSim, oidc, portals, protectedApp, admin } = stack;

console.log(`
eidhub demo is running (nginx pid ${broker.pid}, redis pid ${redis.pid}, Mobile-ID simulator pid ${sim.pid},
Smart-ID simulator pid ${sidSim.pid}, national OIDC provider pid ${oidc.pid}, Latvian eIDAS node
(nginx) pid ${lv.pid}, store ${redis.url})

Open a portal in a browser and log in with Mobile-ID, Smart-ID or the national OpenID Connect
provider (add ?lang=et for Estonian login pages):

${portalsTable(portals)}

An application that speaks no OpenID Connect, behind nginx + eidhub (eidhub_protect, docs/protect.md):

  Parking permits: ${protectedApp.url}  client city-permits, policy basic: the page shows the
                   X-Eidhub-* headers it received

Mobile-ID test citizens (the simulated phone answers after ${DELAY_MS / 1000} s; any other pair has no
Mobile-ID; see tests/sim/README.md for what each one tests):

${citizensTable()}

Smart-ID test accounts (enter the country and personal code; the simulated app answers after
${DELAY_MS / 1000} s; any other code has no Smart-ID account):

${smartIdTable()}

${oidc.displayName.en} (${oidc.url}): no password; pick the test citizen on
its login page and press "Log in" (or "Cancel"):

${oidcTable(oidc)}

A Latvian citizen logs in through Latvia's eIDAS node, a second eidhub at ${lv.url}/
(the eIDAS Proxy-Service of ${DEMO_EIDAS_COUNTRY.country}): choose "${DEMO_EIDAS_COUNTRY.displayName.en}" on eidhub's login page, and
at the Latvian node log in with Mobile-ID as one of the Mobile-ID test citizens above; the portal
learns what the Latvian node asserted (at the Tax office, Mary Änn is LVEE60001019906).

Mary Änn (60001019906) can use all three methods: a portal with a pairwise subject sees the same
sub whichever she chooses.

Administrators change what each portal receives at ${admin.url}
(user ${admin.user}, password ${admin.password}): for example, switch the Tax office from
"full" to "age-only" and log in there again.

  OpenID Connect discovery: ${broker.url}/.well-known/openid-configuration
  JWK Set:                  ${broker.url}/jwks
  Health:                   ${broker.url}/healthz
  eIDAS Connector metadata: ${broker.url}/saml/connector/metadata
  Latvian Proxy-Service metadata: ${lv.url}/saml/proxy/metadata

nginx's error log: ${broker.dir}/error.log
Latvian eIDAS node's error log: ${lv.dir}/error.log
Mobile-ID simulator's log: ${sim.dir}/sim.log
Smart-ID simulator's log:  ${sidSim.dir}/sim.log
National OIDC provider's log: ${oidc.dir}/sim.log
Press Ctrl-C to stop.
`);

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  await stack.stop();
  console.log('stopped');
  process.exit(0);
}
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
setInterval(() => {}, 1 << 30);
