// A demo municipal portal: the smallest honest OpenID Connect relying party
// for eidhub, used by `./dev demo` and the browser tests. It is plain
// node:http with openid-client 6 doing the protocol: discovery (plain http is
// allowed because the demo runs on loopback), the authorization code flow
// with PKCE (S256), state and nonce, client authentication with
// client_secret_basic, ID token validation and a /userinfo call.
//
// Per browser it keeps a server-side session (an in-memory Map) keyed by a
// random id in an HttpOnly cookie; the login's state, nonce and PKCE verifier
// live there, never in the browser. Pages:
//   GET /          the portal: a "Log in" button, or "Logged in" with the
//                  claims received; an error that eidhub returned is shown
//                  here too. /?lang=et asks eidhub for Estonian pages.
//   GET /login     starts a login and redirects to eidhub's /authorize
//   GET /callback  completes it (openid-client checks everything) and
//                  redirects to /
//   GET /logout    forgets the session and logs out at eidhub too
//                  (RP-initiated logout with id_token_hint), which comes
//                  back to / and ends the citizen's sessions at every portal
//   POST /backchannel-logout
//                  eidhub's back-channel logout: verifies the logout token
//                  (signature against eidhub's JWKS, iss, aud, events, sid)
//                  and ends the sessions of that eidhub session (sid)
import crypto from 'node:crypto';
import http from 'node:http';
import * as jose from 'jose';
import * as oidc from 'openid-client';

const LANGUAGES = { en: 'English', et: 'eesti' };

/** The login pages' language asked for with ?lang=, if it is one eidhub speaks. */
const langOf = (url) => (Object.hasOwn(LANGUAGES, url.searchParams.get('lang')) ? url.searchParams.get('lang') : undefined);

/** HTML-escapes any value. */
export function esc(value) {
  return String(value).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A claim's value as text: times as seconds and ISO date, structures as JSON. */
function claimText(name, value) {
  if (['auth_time', 'iat', 'exp', 'nbf'].includes(name) && Number.isInteger(value)) {
    return `${value} (${new Date(value * 1000).toISOString()})`;
  }
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function claimsTable(id, claims) {
  const rows = Object.entries(claims)
    .map(([name, value]) => `<tr><th>${esc(name)}</th><td>${esc(claimText(name, value))}</td></tr>`);
  return `<table id="${id}">\n${rows.join('\n')}\n</table>`;
}

function page(title, body) {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>
body{margin:0;font:16px/1.5 system-ui,sans-serif;color:#222;background:#f3f1ec}
header{background:#2d5a27;color:#fff;padding:.8rem 1.5rem;font-size:1.3rem;font-weight:600}
main{max-width:40rem;margin:2rem auto;background:#fff;padding:1.5rem 2rem;border-radius:8px}
.button{display:inline-block;background:#2d5a27;color:#fff;border:0;border-radius:6px;
  padding:.6rem 1.4rem;font-size:1rem;text-decoration:none;cursor:pointer}
table{border-collapse:collapse;width:100%;margin:1rem 0}
th,td{text-align:left;padding:.3rem .6rem;border-bottom:1px solid #ddd;vertical-align:top;word-break:break-all}
th{width:30%;font-weight:600;word-break:normal}
.error{color:#b42318;font-weight:600}
.muted{color:#666;font-size:.9rem}
</style>
</head>
<body>
<header>${esc(title)}</header>
<main>
${body}
</main>
</body>
</html>
`;
}

/** The error eidhub (or openid-client) reported for the last login, if any. */
function errorHtml(error) {
  if (!error) return '';
  return `<p class="error" role="alert" id="portal-error">Login failed: <code>${esc(error.error)}</code>` +
    `${error.description ? ` — ${esc(error.description)}` : ''}</p>`;
}

/** The portal's home page for a session (possibly empty); lang: the login pages' language, if chosen. */
function homePage(title, session, lang, myEidhub) {
  if (session.userinfo) {
    return page(title, ['<h1>Logged in</h1>',
      '<p>eidhub told this portal who you are:</p>', claimsTable('claims', session.userinfo),
      '<h2>ID token</h2>', claimsTable('id-token', session.idToken),
      '<p><a class="button" id="logout" href="/logout">Log out</a> ' +
      '<a id="my-eidhub" href="' + esc(myEidhub) + '">Where was my identity used? (My eidhub)</a></p>'].join('\n'));
  }
  const choices = Object.entries(LANGUAGES)
    .map(([code, name]) => (code === lang ? `<strong>${name}</strong>` : `<a href="/?lang=${code}">${name}</a>`));
  const langField = lang ? `<input type="hidden" name="lang" value="${esc(lang)}">` : '';
  return page(title, ['<h1>Welcome</h1>', errorHtml(session.error),
    '<p>Log in with your national eID to use the e-services.</p>',
    `<form method="get" action="/login">${langField}<button class="button" type="submit" id="login">Log in</button></form>`,
    `<p class="muted">Language of the login pages: ${choices.join(' · ')} (else your browser's)</p>`].join('\n'));
}

/** An in-memory session store keyed by the value of an HttpOnly cookie. */
function sessionStore(cookieName) {
  const sessions = new Map();
  const idOf = (req) => (req.headers.cookie ?? '').split(';').map((c) => c.trim())
    .find((c) => c.startsWith(`${cookieName}=`))?.slice(cookieName.length + 1);
  const setCookie = (res, value, extra = '') =>
    res.setHeader('Set-Cookie', `${cookieName}=${value}; Path=/; HttpOnly; SameSite=Lax${extra}`);
  return {
    get: (req) => sessions.get(idOf(req)),
    /** A new, empty session under a new id (the old one, if any, is dropped). */
    start(req, res) {
      sessions.delete(idOf(req));
      const id = crypto.randomBytes(24).toString('base64url');
      const session = {};
      sessions.set(id, session);
      setCookie(res, id);
      return session;
    },
    destroy(req, res) {
      sessions.delete(idOf(req));
      setCookie(res, '', '; Max-Age=0');
    },
    /** Ends every session whose eidhub session id is sid; returns how many. */
    endSid(sid) {
      let n = 0;
      for (const [id, session] of sessions) {
        if (session.idToken?.sid === sid) { sessions.delete(id); n++; }
      }
      return n;
    },
  };
}

/** The error code and description of whatever openid-client threw. */
function describeError(e) {
  if (e instanceof oidc.AuthorizationResponseError || e instanceof oidc.ResponseBodyError) {
    return { error: e.error, description: e.error_description };
  }
  return { error: e.code ?? 'login_failed', description: e.message };
}

/**
 * Starts a demo portal on 127.0.0.1:port (0 for any free port), registered
 * at eidhub (issuer) as clientId with clientSecret and redirect URI
 * <url>/callback, post-logout redirect URI <url>/ and back-channel logout URI
 * <url>/backchannel-logout. Returns {url, backchannel, stop()}.
 */
export async function startDemoPortal({ port = 0, issuer, clientId, clientSecret, title, scope = 'openid profile' }) {
  const sessions = sessionStore(`portal-${clientId}`); // cookies ignore ports: one name per portal
  let configuration;
  const config = () => (configuration ??= oidc.discovery(new URL(issuer), clientId, { client_secret: clientSecret },
    oidc.ClientSecretBasic(clientSecret), { execute: [oidc.allowInsecureRequests] })
    .catch((e) => { configuration = undefined; throw e; }));
  let base;

  const routes = {
    '/': (req, res, url) => {
      send(res, 200, homePage(title, sessions.get(req) ?? {}, langOf(url), `${issuer}/me`));
    },

    '/login': async (req, res, url) => {
      const login = { state: oidc.randomState(), nonce: oidc.randomNonce(), verifier: oidc.randomPKCECodeVerifier() };
      sessions.start(req, res).login = login;
      const params = {
        redirect_uri: `${base}/callback`, scope, state: login.state, nonce: login.nonce,
        code_challenge: await oidc.calculatePKCECodeChallenge(login.verifier), code_challenge_method: 'S256',
      };
      if (langOf(url)) params.ui_locales = langOf(url);
      redirect(res, oidc.buildAuthorizationUrl(await config(), params).href);
    },

    '/callback': async (req, res, url) => {
      const session = sessions.get(req);
      const login = session?.login;
      if (!login) return send(res, 400, page(title, '<p class="error" id="portal-error">No login in progress: ' +
        '<a href="/">start again</a>.</p>'));
      delete session.login; // a callback is used once, whatever happens
      try {
        const cfg = await config();
        const tokens = await oidc.authorizationCodeGrant(cfg, url, {
          pkceCodeVerifier: login.verifier, expectedState: login.state, expectedNonce: login.nonce, idTokenExpected: true,
        });
        session.idToken = tokens.claims();
        session.idTokenRaw = tokens.id_token;
        session.userinfo = await oidc.fetchUserInfo(cfg, tokens.access_token, session.idToken.sub);
      } catch (e) {
        session.error = describeError(e);
      }
      redirect(res, '/');
    },

    '/logout': async (req, res) => {
      const hint = sessions.get(req)?.idTokenRaw;
      sessions.destroy(req, res);
      if (!hint) return redirect(res, '/');
      redirect(res, oidc.buildEndSessionUrl(await config(), { id_token_hint: hint, post_logout_redirect_uri: `${base}/` }).href);
    },
  };

  /** POST /backchannel-logout: eidhub says the citizen's session sid ended. */
  const jwks = jose.createRemoteJWKSet(new URL(`${issuer}/jwks`));
  async function backchannelLogout(req, res) {
    let body = '';
    for await (const chunk of req) body += chunk;
    try {
      const token = new URLSearchParams(body).get('logout_token');
      const { payload } = await jose.jwtVerify(token, jwks, { issuer, audience: clientId, typ: 'logout+jwt' });
      if (!payload.events?.['http://schemas.openid.net/event/backchannel-logout'] || !payload.sid || 'nonce' in payload) {
        throw new Error('not a logout token');
      }
      backchannel.push({ sid: payload.sid, ended: sessions.endSid(payload.sid) });
      res.writeHead(200, { 'cache-control': 'no-store' }).end();
    } catch {
      res.writeHead(400, { 'cache-control': 'no-store' }).end();
    }
  }
  const backchannel = [];

  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, base);
    const route = req.method === 'GET' ? routes[url.pathname]
      : req.method === 'POST' && url.pathname === '/backchannel-logout' ? backchannelLogout : undefined;
    try {
      if (route) await route(req, res, url);
      else send(res, 404, page(title, '<p>Not found. <a href="/">Home</a></p>'));
    } catch (e) {
      if (!res.headersSent) send(res, 500, page(title, `<p class="error" id="portal-error">${esc(e.message)}</p>`));
    }
  });
  await new Promise((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${server.address().port}`;
  return {
    url: base,
    backchannel, // the logout tokens received: [{sid, ended}]
    stop: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

function send(res, status, html) {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store',
    'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
    'referrer-policy': 'no-referrer',
  });
  res.end(html);
}

function redirect(res, location) {
  res.writeHead(303, { location, 'cache-control': 'no-store' });
  res.end();
}
