// ./dev demo: runs the demo set-up of tests/lib/demo-stack.mjs (Redis, the
// Mobile-ID simulator, eidhub on EH_DEMO_PORT or 8080, three demo portals on
// the next ports, and the admin UI) and prints where to go and whom to log in as, so a
// newcomer can try a login in a browser. Ctrl-C stops everything it started.
import { startDemoStack } from './demo-stack.mjs';
import { CITIZENS } from '../sim/mobile-id.mjs';

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

function portalsTable(portals) {
  return table(portals.map((p) => [`${p.title}:`, `${p.url}/`,
    `client ${p.clientId}, policy ${p.policy}, ${p.subjectType} subject`]));
}

const stack = await startDemoStack({ port: Number(process.env.EH_DEMO_PORT ?? 8080), delayMs: DELAY_MS });
const { broker, redis, sim, portals, admin } = stack;

console.log(`
eidhub demo is running (nginx pid ${broker.pid}, redis pid ${redis.pid}, Mobile-ID simulator pid ${sim.pid}, store ${redis.url})

Open a portal in a browser and log in with Mobile-ID (add ?lang=et for Estonian login pages):

${portalsTable(portals)}

Test citizens (the simulated phone answers after ${DELAY_MS / 1000} s; any other pair has no Mobile-ID;
see tests/sim/README.md for what each one tests):

${citizensTable()}

Administrators change what each portal receives at ${admin.url}
(user ${admin.user}, password ${admin.password}): for example, switch the Tax office from
"full" to "age-only" and log in there again.

  OpenID Connect discovery: ${broker.url}/.well-known/openid-configuration
  JWK Set:                  ${broker.url}/jwks
  Health:                   ${broker.url}/healthz

nginx's error log: ${broker.dir}/error.log
Mobile-ID simulator's log: ${sim.dir}/sim.log
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
