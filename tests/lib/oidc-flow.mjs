// The relying party's side of a login through eidhub's OpenID Connect
// provider, shared by the integration tests: openid-client's configuration
// for a registered client, the authorization request, and the citizen's
// Mobile-ID and Smart-ID pages (driven with the cookie-keeping Agent).
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
 * (verifier, state, nonce), the agent and the first answer. config: the
 * RP's configuration from an earlier rpConfig (no discovery request then).
 */
export async function authorize(issuerUrl, {
  clientId, secret = null, redirectUri, scope = 'openid profile', pkce = true, extra = {}, execute, agent, config,
}) {
  config ??= await rpConfig(issuerUrl, clientId, secret, { execute });
  const verifier = pkce ? oidc.randomPKCECodeVerifier() : undefined;
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const params = { redirect_uri: redirectUri, scope, state, nonce, ...extra };
  if (pkce) {
    params.code_challenge = await oidc.calculatePKCECodeChallenge(verifier);
    params.code_challenge_method = 'S256';
  }
  const url = oidc.buildAuthorizationUrl(config, params);
  agent ??= new Agent(issuerUrl);
  const first = await agent.get(url.href);
  return { config, verifier, state, nonce, agent, first };
}

/**
 * Drives the pages of an SK backend (prefix "mid" or "sid": form, wait with
 * its verification code, status polls) with the form fields and returns the
 * final answer of /auth/<prefix>/finish (the redirect to the RP, or a page).
 */
async function skPages(agent, prefix, fields) {
  const form = await agent.get(`/auth/${prefix}`);
  assert.equal(form.status, 200);
  const started = await agent.post(`/auth/${prefix}`, { csrf: hiddenField(form.text, 'csrf'), ...fields });
  assert.equal(started.status, 303, started.text);
  assert.equal(new URL(started.location).pathname, `/auth/${prefix}/wait`);
  const wait = await agent.get(`/auth/${prefix}/wait`);
  assert.match(elementText(wait.text, 'verification-code'), /^\d{4}$/);
  for (let i = 0; i < 100; i++) {
    const s = await agent.get(`/auth/${prefix}/status`);
    assert.equal(s.status, 200);
    if (JSON.parse(s.text).state !== 'RUNNING') break;
  }
  return agent.get(`/auth/${prefix}/finish`);
}

/** Drives the Mobile-ID pages for a citizen and returns the final answer (the redirect to the RP). */
export function mobileId(agent, citizen) {
  return skPages(agent, 'mid', { phone: citizen.phone, personal_code: citizen.personalCode });
}

/**
 * Drives the Smart-ID pages for an account of the simulator (its country and
 * personal code, or with byDocument its document number) and returns the
 * final answer.
 */
export function smartId(agent, account, { byDocument = false } = {}) {
  return skPages(agent, 'sid', byDocument ? { document_number: account.documentNumber }
    : { country: account.country, personal_code: account.personalCode });
}

/**
 * A whole login: authorize (same options), the method choice page, then
 * method (mobileId by default, or smartId) for citizen. Returns authorize's
 * result plus `callback`, the URL the browser was finally sent to (with the
 * code), and `done`, that answer.
 */
export async function login(issuerUrl, options, citizen, method = mobileId) {
  const flow = await authorize(issuerUrl, options);
  assert.equal(flow.first.status, 303, flow.first.text);
  await flow.agent.get('/login');
  const done = await method(flow.agent, citizen);
  assert.equal(done.status, 303, done.text);
  return { ...flow, done, callback: new URL(done.location) };
}
