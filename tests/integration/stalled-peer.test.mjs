// Never block the event loop, with a Mobile-ID service that accepts
// connections and never answers: the citizen gets a clear message when the
// call times out, and the same nginx worker keeps answering everyone else.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { Agent, hiddenField } from '../lib/agent.mjs';
import { freePort, startBroker, startMobileIdSim, startRedis } from '../lib/harness.mjs';
import { citizenByOutcome } from '../sim/mobile-id.mjs';

let redis, sim, broker, stalled;
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
});
after(async () => {
  for (const s of sockets) s.destroy();
  stalled?.close();
  await broker?.stop(); await sim?.stop(); await redis?.stop();
});

test('a stalled Mobile-ID service times out with a message while other requests are answered', async () => {
  const agent = new Agent(broker.url);
  const challenge = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';
  const start = await agent.get(`/authorize?client_id=portal&redirect_uri=${encodeURIComponent('http://127.0.0.1:9/cb')}`
    + `&response_type=code&scope=openid&state=s&code_challenge=${challenge}&code_challenge_method=S256`);
  assert.equal(start.status, 303);
  const form = await agent.get('/auth/mid');
  const citizen = citizenByOutcome('OK');
  let finished = false;
  const pending = agent.post('/auth/mid', { csrf: hiddenField(form.text, 'csrf'), phone: citizen.phone, personal_code: citizen.personalCode })
    .then((r) => { finished = true; return r; });
  // wait until the broker's call has reached the stalled service
  for (let i = 0; i < 100 && sockets.size === 0; i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(sockets.size, 1, 'the broker called the stalled service');
  let answered = 0;
  for (let i = 0; i < 20; i++) {
    const r = await fetch(`${broker.url}/.well-known/openid-configuration`);
    assert.equal(r.status, 200);
    await r.arrayBuffer();
    const h = await fetch(`${broker.url}/healthz`);
    assert.equal(h.status, 200, 'the store-backed health check is answered too');
    if (!finished) answered++;
  }
  assert.equal(answered, 20, 'other requests were answered while the Mobile-ID call was pending');
  const r = await pending;
  assert.equal(r.status, 502);
  assert.match(r.text, /Mobile-ID service is not available right now/);
});
