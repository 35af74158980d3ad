// Never block the event loop, with a Mobile-ID service or an eIDAS node that
// accepts connections and never answers: the citizen gets a clear message
// when the call times out, and the same nginx worker keeps answering
// everyone else.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { Agent, hiddenField } from '../lib/agent.mjs';
import { freePort, startBroker, startMobileIdSim, startRedis, tmpdir } from '../lib/harness.mjs';
import { samlNode } from '../lib/saml-node.mjs';
import { citizenByOutcome } from '../sim/mobile-id.mjs';

let redis, sim, broker, connector, stalled;
const sockets = new Set();

before(async () => {
  redis = await startRedis();
  sim = await startMobileIdSim(); // only for its CA file
  const port = await freePort();
  stalled = net.createServer((s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  await new Promise((resolve) => stalled.listen(port, '127.0.0.1', resolve));
  broker = await startBroker({
    store: redis.url,
    workers: 1,
    broker: {
      relying_parties: [{ client_id: 'portal', redirect_uris: ['http://127.0.0.1:9/cb'], display_name: 'Portal', policy: 'basic' }],
      backends: {
        mobile_id: {
          url: `http://127.0.0.1:${port}/mid-api`, relying_party_uuid: '00000000-0000-0000-0000-000000000000',
          relying_party_name: 'DEMO', trusted_ca_files: [sim.caFile], request_timeout_ms: 1500,
        },
      },
    },
  });
  // an eIDAS Connector whose Latvian node's metadata URL never answers
  const dir = tmpdir('eidhub-stalled-eidas-');
  const node = await samlNode(dir, 'EE');
  connector = await startBroker({
    dir, store: redis.url, workers: 1,
    broker: {
      saml: { ...node.settings, request_timeout_ms: 1500 },
      relying_parties: [{ client_id: 'portal', redirect_uris: ['http://127.0.0.1:9/cb'], display_name: 'Portal', policy: 'basic' }],
      backends: {
        eidas_connector: {
          countries: [{ country: 'LV', metadata: `http://127.0.0.1:${port}/metadata`, trust_anchor_file: node.signingCert }],
        },
      },
    },
  });
});
after(async () => {
  for (const s of sockets) s.destroy();
  stalled?.close();
  await connector?.stop(); await broker?.stop(); await sim?.stop(); await redis?.stop();
});

/** Starts a portal's login at b in a new browser and returns the agent. */
async function startLogin(b) {
  const agent = new Agent(b.url);
  const challenge = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';
  const start = await agent.get(`/authorize?client_id=portal&redirect_uri=${encodeURIComponent('http://127.0.0.1:9/cb')}`
    + `&response_type=code&scope=openid&state=s&code_challenge=${challenge}&code_challenge_method=S256`);
  assert.equal(start.status, 303);
  return agent;
}

/** While pending is unsettled, b answers discovery and /healthz 20 times; returns how many came first. */
async function answeredMeanwhile(b, isFinished) {
  let answered = 0;
  for (let i = 0; i < 20; i++) {
    const r = await fetch(`${b.url}/.well-known/openid-configuration`);
    assert.equal(r.status, 200);
    await r.arrayBuffer();
    const h = await fetch(`${b.url}/healthz`);
    assert.equal(h.status, 200, 'the store-backed health check is answered too');
    if (!isFinished()) answered++;
  }
  return answered;
}

test('a stalled eIDAS node times out with a message while other requests are answered', async () => {
  const agent = await startLogin(connector);
  const before = sockets.size;
  let finished = false;
  const pending = agent.get('/auth/eidas?country=LV').then((r) => { finished = true; return r; });
  for (let i = 0; i < 100 && sockets.size === before; i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(sockets.size > before, 'the broker asked the stalled node for its metadata');
  assert.equal(await answeredMeanwhile(connector, () => finished), 20, 'other requests were answered while the call was pending');
  const r = await pending;
  assert.equal(r.status, 502);
  assert.match(r.text, /eIDAS node cannot be reached right now/);
  assert.match(r.text, /id="try-again"/);
});

test('a stalled Mobile-ID service times out with a message while other requests are answered', async () => {
  const agent = await startLogin(broker);
  const form = await agent.get('/auth/mid');
  const citizen = citizenByOutcome('OK');
  let finished = false;
  const pending = agent.post('/auth/mid', { csrf: hiddenField(form.text, 'csrf'), phone: citizen.phone, personal_code: citizen.personalCode })
    .then((r) => { finished = true; return r; });
  // wait until the broker's call has reached the stalled service
  for (let i = 0; i < 100 && sockets.size === 0; i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(sockets.size >= 1, 'the broker called the stalled service');
  assert.equal(await answeredMeanwhile(broker, () => finished), 20, 'other requests were answered while the Mobile-ID call was pending');
  const r = await pending;
  assert.equal(r.status, 502);
  assert.match(r.text, /Mobile-ID service is not available right now/);
});
