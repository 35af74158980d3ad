// Helpers for tests of eidhub as a relying party of national OpenID Connect
// eID providers: the national provider stand-in (tests/sim/national-oidc.mjs,
// oidc-provider from npm) in a child process, its settings for eidhub's
// "oidc_upstream" backend, and the citizen's pages at the provider.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Agent } from './agent.mjs';
import { ROOT, tmpdir } from './harness.mjs';
import { PROFILES } from '../sim/national-oidc.mjs';

const children = new Set();
process.on('exit', () => {
  for (const c of children) {
    try { process.kill(c.pid, 'SIGKILL'); } catch { /* gone */ }
  }
});

/**
 * Starts tests/sim/national-oidc.mjs as its own process (profile "fr",
 * "be" or "ee"), registered for our client with redirectUri; its clock
 * clockOffsetSeconds off (0: right); on port (0: any free one; give the
 * old one to start a provider again at the same issuer). Resolves when it
 * prints its ready line: {url, issuer, port, profile, pid, log(), stop()}.
 */
export async function startNationalOidcProcess({ profile, clientId, clientSecret, redirectUri, clockOffsetSeconds = 0, port = 0 }) {
  const dir = tmpdir('eidhub-national-oidc-');
  const logFile = path.join(dir, 'sim.log');
  const proc = spawn(process.execPath, [path.join(ROOT, 'tests/sim/national-oidc.mjs'), '--port', String(port), '--profile', profile,
    '--client-id', clientId, '--client-secret', clientSecret, '--redirect-uri', redirectUri,
    `--clock-offset-seconds=${clockOffsetSeconds}`],
  { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(proc);
  proc.on('exit', () => children.delete(proc));
  const log = fs.createWriteStream(logFile);
  proc.stderr.pipe(log);
  const url = await new Promise((resolve, reject) => {
    let out = '';
    const t = setTimeout(() => reject(new Error(`national-oidc (${profile}) did not start: ${out}`)), 90000);
    proc.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/listening on (http:\/\/\S+)/);
      if (m) { clearTimeout(t); resolve(m[1]); }
    });
    proc.on('exit', (code) => { clearTimeout(t); reject(new Error(`national-oidc (${profile}) exited with ${code}`)); });
  });
  return {
    url, issuer: url, port: Number(new URL(url).port), profile, pid: proc.pid, dir, ...PROFILES[profile],
    log() { try { return fs.readFileSync(logFile, 'utf8'); } catch { return ''; } },
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        const exited = new Promise((resolve) => proc.once('exit', resolve));
        proc.kill('SIGTERM');
        await exited;
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** eidhub's provider settings for a national-oidc profile at url. */
export function nationalProviderSettings(id, op, { clientId, clientSecret, ...extra }) {
  const common = { id, display_name: PROFILES[op.profile].displayName, issuer: op.url, client_id: clientId, client_secret: clientSecret };
  if (op.profile === 'fr') {
    return {
      ...common,
      scopes: ['openid', 'profile', 'birth'],
      claim_mapping: { given_name: 'given_name', family_name: 'family_name', birthdate: 'date_of_birth', gender: 'gender', birthplace: 'place_of_birth' },
      subject: { country: 'FR', id_claim: 'sub' },
      loa_mapping: { eidas1: 'low', eidas2: 'substantial', eidas3: 'high' },
      acr_values: ['eidas1', 'eidas2', 'eidas3'],
      country: 'FR',
      ...extra,
    };
  }
  if (op.profile === 'ee') {
    return {
      ...common,
      scopes: ['openid', 'profile', 'idcode'],
      claim_mapping: { given_name: 'given_name', family_name: 'family_name', birthdate: 'date_of_birth' },
      subject: { country: 'EE', id_claim: 'personal_code', id_type: 'PNO' },
      loa_mapping: { low: 'low', substantial: 'substantial', high: 'high' },
      acr_values: ['low', 'substantial', 'high'],
      country: 'EE',
      ...extra,
    };
  }
  return {
    ...common,
    scopes: ['openid', 'profile', 'national_number'],
    claim_mapping: { firstName: 'given_name', lastName: 'family_name', birthDate: 'date_of_birth' },
    subject: { country: 'BE', id_claim: 'nationalNumber', id_type: 'PNO' },
    loa_mapping: { 'urn:be:loa:low': 'low', 'urn:be:loa:substantial': 'substantial' },
    acr_values: ['urn:be:loa:low', 'urn:be:loa:substantial'],
    country: 'BE',
    ...extra,
  };
}

/**
 * The citizen's side at a national-oidc provider: from the authorization
 * request (authUrl, eidhub's redirect) through the login page, choosing
 * citizen (or pressing "Cancel" when citizen is null), to the redirect back
 * to eidhub. Returns that URL. agent is the browser at the provider.
 */
export async function loginAtProvider(agent, authUrl, citizen) {
  let r = await agent.get(authUrl);
  assert.equal(r.status, 303, `authorization request: ${r.status} ${r.text}`);
  const page = await agent.get(r.location);
  assert.equal(page.status, 200, page.text);
  const action = page.text.match(/action="([^"]*\/(?:login))"/)[1];
  const abort = page.text.match(/action="([^"]*\/(?:abort))"/)[1];
  r = citizen ? await agent.post(action, { citizen }) : await agent.post(abort, {});
  // oidc-provider resumes the authorization (one or two hops) and redirects to us
  for (let i = 0; i < 5 && r.status === 303 && new URL(r.location).origin === new URL(authUrl).origin; i++) {
    r = await agent.get(r.location);
  }
  assert.equal(r.status, 303, `resume: ${r.status} ${r.text}`);
  return r.location;
}

/** A browser at provider op (its own cookies). */
export function providerAgent(op) {
  return new Agent(op.url);
}
