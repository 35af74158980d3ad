// A demo application behind eidhub_protect (docs/protect.md): it speaks no
// OpenID Connect at all. nginx + eidhub log the citizen in in front of it and
// pass the released claims as X-Eidhub-* request headers (percent-encoded
// UTF-8), which this page simply shows. Used by `./dev demo`.
import http from 'node:http';
import { esc } from './demo-portal.mjs';

/** A header value decoded (eidhub percent-encodes them), or as it is when it is not valid. */
function decoded(value) {
  try { return decodeURIComponent(value); } catch { return value; }
}

/**
 * Starts the application on 127.0.0.1:port (a free port when 0); pathPrefix
 * is the protected location it is served under (e.g. "/permits/").
 * Returns {port, stop()}.
 */
export async function startDemoProtectedApp({ port = 0, title = 'Parking permits', pathPrefix = '/permits/' }) {
  const server = http.createServer((req, res) => {
    const rows = Object.entries(req.headers)
      .filter(([name]) => name.startsWith('x-eidhub-'))
      .map(([name, value]) => `<tr><th>${esc(name)}</th><td><code>${esc(value)}</code></td><td>${esc(decoded(value))}</td></tr>`);
    const body = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title></head>
<body><h1>${esc(title)}</h1>
<p>This application knows no OpenID Connect: nginx and eidhub logged you in and sent who you are in these request headers.</p>
<table><tr><th>header</th><th>as received</th><th>decoded</th></tr>${rows.join('')}</table>
<p><a href="/protect/logout?return_to=${encodeURIComponent(pathPrefix)}">Log out</a></p>
</body></html>\n`;
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(body);
  });
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    port: server.address().port,
    stop: () => new Promise((resolve) => server.close(resolve)),
  };
}
