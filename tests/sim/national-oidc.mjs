// A national eID service that speaks OpenID Connect, as FranceConnect does:
// a real, certified OpenID Provider (panva's oidc-provider from npm) with
// test citizens, levels of assurance (acr values) and a login page of its
// own, standing in for the national service eidhub is a relying party of.
// Pointing eidhub at the real service is a configuration change: issuer,
// client id and secret, scopes, claim and LoA mappings.
//
// Three profiles, with different claim names, so that eidhub's per-provider
// claim_mapping is exercised:
//   fr  FranceConnect-like: given_name, family_name, birthdate, gender,
//       preferred_username (profile), birthplace, birthcountry (birth);
//       acr eidas1 | eidas2 | eidas3; ID tokens RS256.
//   be  another country's claims: firstName, lastName, birthDate (profile),
//       nationalNumber (national_number); acr urn:be:loa:low |
//       urn:be:loa:substantial; ID tokens ES256.
//   ee  an Estonian national provider (used by the demo): given_name,
//       family_name, birthdate (profile), personal_code (idcode: the
//       personal identification code); acr low | substantial | high; ID
//       tokens RS256. Its citizen is the SK simulators' Mary Änn
//       (tests/sim/sim-common.mjs PEOPLE.maryAnn), so the same person can
//       log in by Mobile-ID, Smart-ID or this provider.
//
// The login page (/interaction/:uid) is a form: pick a test citizen
// ("citizen") and press "login" (POST /interaction/:uid/login), or "abort"
// (POST /interaction/:uid/abort: the relying party gets access_denied). The
// citizen authenticates at the highest requested acr value their eID
// allows, or at their own level when that is below every requested one
// (a relying party must refuse that). Consent is given with the login.
//
// Run:  node tests/sim/national-oidc.mjs --port P --profile fr|be|ee --client-id ID
//         --client-secret S --redirect-uri URI [--clock-offset-seconds=N] [--quiet]
// --clock-offset-seconds=N (negative: behind) runs the provider with its
// clock N seconds off (iat/exp of its tokens), as a peer with a wrong clock.
// Prints one line when ready: "national-oidc (fr) listening on http://127.0.0.1:P".
// or in-process: const op = await startNationalOidc({ port: 0, profile: 'fr', ... }); await op.stop();
// All names and numbers here are test data.
import crypto from 'node:crypto';
import http from 'node:http';
import { parseArgs } from 'node:util';
import * as jose from 'jose';
import Provider from 'oidc-provider';
import { closeServer, integerOption, isMainModule, PEOPLE, readBody, runSimulator, shiftClock } from './sim-common.mjs';

export const PROFILES = Object.freeze({
  fr: Object.freeze({
    country: 'FR',
    displayName: { en: 'FranceConnect (France)', et: 'FranceConnect (Prantsusmaa)' },
    alg: 'RS256',
    acrValues: ['eidas1', 'eidas2', 'eidas3'],
    claims: {
      openid: ['sub'],
      profile: ['given_name', 'family_name', 'birthdate', 'gender', 'preferred_username'],
      birth: ['birthplace', 'birthcountry'],
    },
    citizens: {
      jean: {
        sub: 'b6e3a2c18f4d4e0c9a7b5d3f1e2c4a6b8d0f2e4c6a8b0d2f4e6a8c0e2f4a6b8c', acr: 'eidas3',
        given_name: 'Jean', family_name: 'Dupont', birthdate: '1980-01-08', gender: 'male',
        preferred_username: 'Dupont', birthplace: '75056', birthcountry: '99100',
      },
      marie: {
        sub: '4c2a0e8f6d4b2a0c8e6f4d2b0a8c6e4f2d0b8a6c4e2f0d8b6a4c2e0f8d6b4a2c', acr: 'eidas1',
        given_name: 'Marie', family_name: 'Martin', birthdate: '1990-05-15', gender: 'female',
        preferred_username: 'Martin', birthplace: '69123', birthcountry: '99100',
      },
    },
  }),
  be: Object.freeze({
    country: 'BE',
    displayName: { en: 'Belgian eID', et: 'Belgia eID' },
    alg: 'ES256',
    acrValues: ['urn:be:loa:low', 'urn:be:loa:substantial'],
    claims: {
      openid: ['sub'],
      profile: ['firstName', 'lastName', 'birthDate'],
      national_number: ['nationalNumber'],
    },
    citizens: {
      lucas: {
        sub: 'be-7f1e9d3c-5b2a-4e8f-a6c4-2d0b9e7f5a3c', acr: 'urn:be:loa:substantial',
        firstName: 'Lucas', lastName: 'Peeters', birthDate: '1985-07-30', nationalNumber: '85073003328',
      },
    },
  }),
  ee: Object.freeze({
    country: 'EE',
    displayName: { en: 'Estonian national eID (OpenID Connect)', et: 'Riiklik autentimisteenus (OpenID Connect)' },
    alg: 'RS256',
    acrValues: ['low', 'substantial', 'high'],
    claims: {
      openid: ['sub'],
      profile: ['given_name', 'family_name', 'birthdate'],
      idcode: ['personal_code'],
    },
    citizens: {
      maryann: {
        sub: '9d1c4b7e-2f3a-4c5d-8e6f-0a1b2c3d4e5f', acr: 'high',
        given_name: PEOPLE.maryAnn.givenName, family_name: PEOPLE.maryAnn.surname, birthdate: '2000-01-01',
        personal_code: PEOPLE.maryAnn.personalCode,
      },
    },
  }),
});

const escape = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The acr the citizen authenticates at for the requested acr_values. */
function chooseAcr(profile, citizen, requested) {
  const rank = (v) => profile.acrValues.indexOf(v);
  const max = rank(citizen.acr);
  const asked = (requested ?? '').split(' ').filter((v) => rank(v) >= 0 && rank(v) <= max);
  if (asked.length === 0) return citizen.acr;
  return asked.sort((a, b) => rank(b) - rank(a))[0];
}

/** A new signing key of alg as a private JWK with kid. */
async function signingKey(alg) {
  const { privateKey } = await jose.generateKeyPair(alg, { extractable: true });
  const jwk = await jose.exportJWK(privateKey);
  return { ...jwk, kid: `${alg.toLowerCase()}-${crypto.randomBytes(4).toString('hex')}`, use: 'sig', alg };
}

/**
 * Starts the provider on 127.0.0.1:port (0: any). Returns
 * {url, issuer, port, profile, citizens, requests, stop()}: requests lists
 * "METHOD path" of every request it served.
 */
export async function startNationalOidc({
  port = 0, profile: name = 'fr', clientId, clientSecret, redirectUri, quiet = true,
}) {
  const profile = PROFILES[name];
  if (!profile) throw new Error(`unknown profile ${name}`);
  if (!clientId || !clientSecret || !redirectUri) throw new Error('clientId, clientSecret and redirectUri are required');
  const say = quiet ? () => {} : (m) => process.stderr.write(`national-oidc (${name}): ${m}\n`);
  const requests = [];
  const server = http.createServer();
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const bySub = Object.fromEntries(Object.entries(profile.citizens).map(([key, c]) => [c.sub, { key, ...c }]));
  const provider = new Provider(issuer, {
    clients: [{
      client_id: clientId, client_secret: clientSecret, redirect_uris: [redirectUri],
      response_types: ['code'], grant_types: ['authorization_code'],
      token_endpoint_auth_method: 'client_secret_basic', id_token_signed_response_alg: profile.alg,
    }],
    jwks: { keys: [await signingKey(profile.alg)] },
    claims: profile.claims,
    acrValues: profile.acrValues,
    features: { devInteractions: { enabled: false } },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    pkce: { required: () => true },
    cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
    async findAccount(ctx, sub) {
      const c = bySub[sub];
      if (!c) return undefined;
      return {
        accountId: sub,
        async claims() {
          const { key: _key, acr: _acr, ...claims } = c;
          return claims;
        },
      };
    },
    // consent is given with the login (the interaction creates the grant)
    async loadExistingGrant(ctx) {
      const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
      return grantId ? ctx.oidc.provider.Grant.find(grantId) : undefined;
    },
    renderError(ctx, out) {
      ctx.type = 'html';
      ctx.body = `<!DOCTYPE html><title>error</title><p id="error">${escape(out.error)}: ${escape(out.error_description ?? '')}</p>`;
    },
  });
  provider.on('server_error', (ctx, err) => say(`server_error ${err.message}`));
  const callback = provider.callback();

  async function interaction(req, res, url) {
    const m = url.pathname.match(/^\/interaction\/([^/]+)(\/login|\/abort)?$/);
    if (!m) { res.writeHead(404); return res.end(); }
    const details = await provider.interactionDetails(req, res);
    if (req.method === 'GET' && !m[2]) {
      const options = Object.entries(profile.citizens).map(([key, c]) =>
        `<option value="${escape(key)}">${escape(c.given_name ?? c.firstName)} ${escape(c.family_name ?? c.lastName)}</option>`).join('');
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      return res.end(`<!DOCTYPE html><html><head><title>${escape(profile.displayName.en)}</title></head><body>
<h1>${escape(profile.displayName.en)}</h1>
<p id="client">${escape(details.params.client_id)}</p>
<form method="post" action="/interaction/${escape(details.uid)}/login">
<label>Test citizen <select name="citizen">${options}</select></label>
<button type="submit" id="login">Log in</button></form>
<form method="post" action="/interaction/${escape(details.uid)}/abort"><button type="submit" id="abort">Cancel</button></form>
</body></html>`);
    }
    if (req.method !== 'POST') { res.writeHead(405); return res.end(); }
    const form = new URLSearchParams((await readBody(req)).toString());
    if (m[2] === '/abort') {
      say('the citizen cancelled');
      return provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'the citizen cancelled' },
        { mergeWithLastSubmission: false });
    }
    const citizen = profile.citizens[form.get('citizen')];
    if (!citizen) { res.writeHead(400); return res.end('unknown citizen'); }
    const grant = new provider.Grant({ accountId: citizen.sub, clientId: details.params.client_id });
    grant.addOIDCScope(details.params.scope);
    const grantId = await grant.save();
    const acr = chooseAcr(profile, citizen, details.params.acr_values);
    say(`${form.get('citizen')} logs in at ${acr}`);
    return provider.interactionFinished(req, res, {
      login: { accountId: citizen.sub, acr, amr: ['pwd'] },
      consent: { grantId },
    }, { mergeWithLastSubmission: false });
  }

  server.on('request', (req, res) => {
    const url = new URL(req.url, issuer);
    requests.push(`${req.method} ${url.pathname}`);
    if (url.pathname.startsWith('/interaction/')) {
      interaction(req, res, url).catch((e) => {
        say(`interaction failed: ${e.message}`);
        if (!res.headersSent) res.writeHead(400, { 'content-type': 'text/plain' });
        res.end(`interaction failed: ${e.name}`);
      });
      return;
    }
    callback(req, res);
  });
  return {
    url: issuer, issuer, port: server.address().port, profile: name, country: profile.country,
    displayName: profile.displayName, acrValues: profile.acrValues, citizens: profile.citizens, requests,
    stop: () => closeServer(server),
  };
}

if (isMainModule(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: process.env.NATIONAL_OIDC_PORT ?? '0' },
      profile: { type: 'string', default: 'fr' },
      'client-id': { type: 'string' },
      'client-secret': { type: 'string' },
      'redirect-uri': { type: 'string' },
      'clock-offset-seconds': { type: 'string', default: '0' },
      quiet: { type: 'boolean', default: false },
    },
  });
  shiftClock(integerOption(values, 'clock-offset-seconds'));
  runSimulator({
    label: 'national-oidc',
    start: () => startNationalOidc({
      port: Number(values.port), profile: values.profile, clientId: values['client-id'],
      clientSecret: values['client-secret'], redirectUri: values['redirect-uri'], quiet: values.quiet,
    }),
    readyLine: (op) => `national-oidc (${op.profile}) listening on ${op.url}`,
  });
}
