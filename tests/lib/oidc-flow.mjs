// The relying party's side of a login through eidhub's OpenID Connect
// provider, shared by the integration tests: openid-client's configuration
// for a registered client, the authorization request, and the citizen's
// Mobile-ID pages (driven with the cookie-keeping Agent).
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import { Agent, elementText, hiddenField } from './agent.mjs';

/**
 * openid-client's configuration for clientId at the broker whose issuer is
 * issuerUrl: client_secret_basic with secret, or a public client when secret
 * is null. execute: more openid-client configuration functions to apply.
 */
export async function rpConfig(issuerUrl, clientId, secret, { execute = [] } = {}) {
  return oidc.discovery(new URL(issuerUrl), clientId, secret ? { client_secret: secret } : undefined,
    secret ? oidc.ClientSecretBasic(secret) : oidc.None(), { execute: [oidc.allowInsecureRequests, ...execute] });
}

/**
 * Starts an authorization request as the relying party would and sends a new
 * browser (Agent) to it. pkce: false leaves out the code challenge (allowed
 * for confidential clients only). Returns the RP's configuration and checks
 * (verifier, state, nonce), the agent and the first answer.
 */
export async function authorize(issuerUrl, {
  clientId, secret = null, redirectUri, scope = 'openid profile', pkce = true, extra = {}, execute,
}) {
  const config = await rpConfig(issuerUrl, clientId, secret, { execute });
  const verifier = pkce ? oidc.randomPKCECodeVerifier() : undefined;
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const params = { redirect_uri: redirectUri, scope, state, nonce, ...extra };
  if (pkce) {
    params.code_challenge = await oidc.calculatePKCECodeChallenge(verifier);
    params.code_challenge_method = 'S256';
  }
  const url = oidc.buildAuthorizationUrl(config, params);
  const agent = new Agent(issuerUrl);
  const first = await agent.get(url.href);
  return { config, verifier, state, nonce, agent, first };
}

/** Drives the Mobile-ID pages for a citizen and returns the final answer (the redirect to the RP). */
export async function mobileId(agent, citizen) {
  const form = await agent.get('/auth/mid');
  assert.equal(form.status, 200);
  const started = await agent.post('/auth/mid', { csrf: hiddenField(form.text, 'csrf'), phone: citizen.phone, personal_code: citizen.personalCode });
  assert.equal(started.status, 303, started.text);
  assert.equal(new URL(started.location).pathname, '/auth/mid/wait');
  const wait = await agent.get('/auth/mid/wait');
  assert.match(elementText(wait.text, 'verification-code'), /^\d{4}$/);
  for (let i = 0; i < 100; i++) {
    const s = await agent.get('/auth/mid/status');
    assert.equal(s.status, 200);
    if (JSON.parse(s.text).state !== 'RUNNING') break;
  }
  return agent.get('/auth/mid/finish');
}

/**
 * A whole login: authorize (same options), the method choice page, Mobile-ID
 * for citizen. Returns authorize's result plus `callback`, the URL the
 * browser was finally sent to (with the code), and `done`, that answer.
 */
export async function login(issuerUrl, options, citizen) {
  const flow = await authorize(issuerUrl, options);
  assert.equal(flow.first.status, 303, flow.first.text);
  await flow.agent.get('/login');
  const done = await mobileId(flow.agent, citizen);
  assert.equal(done.status, 303, done.text);
  return { ...flow, done, callback: new URL(done.location) };
}
