// ./dev demo: runs eidhub (real nginx + the module, real Redis) with a demo
// configuration and prints where to look. Ctrl-C stops everything it started.
import { startBroker, startRedis } from './harness.mjs';

const port = Number(process.env.EH_DEMO_PORT ?? 8080);
const redis = await startRedis();
const broker = await startBroker({
  port,
  store: redis.url,
  broker: {
    relying_parties: [{
      client_id: 'demo-portal',
      display_name: { en: 'Demo city portal', et: 'Demo linnaportaal' },
      redirect_uris: [`http://127.0.0.1:${port + 1}/callback`],
      policy: 'basic',
      subject_type: 'pairwise',
    }],
  },
});

console.log(`
eidhub demo is running (nginx pid ${broker.pid}, redis pid ${redis.pid}, store ${redis.url})

  OpenID Connect discovery: ${broker.url}/.well-known/openid-configuration
  JWK Set:                  ${broker.url}/jwks
  Health:                   ${broker.url}/healthz

nginx's error log: ${broker.dir}/error.log
Press Ctrl-C to stop.
`);

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  await broker.stop();
  await redis.stop();
  console.log('stopped');
  process.exit(0);
}
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
setInterval(() => {}, 1 << 30);
