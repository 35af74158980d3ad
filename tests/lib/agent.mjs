// A small browser stand-in for HTTP-level tests: keeps cookies, never follows
// redirects by itself (so each hop can be checked), and reads forms' hidden
// fields. Browser tests use real Chromium instead (tests/integration/*browser*).
export class Agent {
  constructor(base) {
    this.base = base;
    this.cookies = new Map();
  }

  cookieHeader() {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  remember(res) {
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';');
      const i = pair.indexOf('=');
      const name = pair.slice(0, i).trim();
      const value = pair.slice(i + 1).trim();
      const maxAge = attrs.map((a) => a.trim()).find((a) => a.toLowerCase().startsWith('max-age='));
      if (value === '' || (maxAge && Number(maxAge.split('=')[1]) <= 0)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  /** One request; url may be relative to base. Returns {status, headers, location, text}. */
  async request(url, { method = 'GET', form, headers = {}, signal } = {}) {
    const target = new URL(url, this.base);
    const h = { ...headers };
    if (target.origin === new URL(this.base).origin && this.cookies.size) h.cookie = this.cookieHeader();
    let body;
    if (form) {
      body = new URLSearchParams(form).toString();
      h['content-type'] = 'application/x-www-form-urlencoded';
    }
    const res = await fetch(target, { method, headers: h, body, redirect: 'manual', signal });
    if (target.origin === new URL(this.base).origin) this.remember(res);
    const text = await res.text();
    const location = res.headers.get('location');
    return { status: res.status, headers: res.headers, location: location ? new URL(location, target).href : null, text };
  }

  get(url, opts) { return this.request(url, opts); }
  post(url, form, opts = {}) { return this.request(url, { ...opts, method: 'POST', form }); }
}

/** The value of the hidden input called name in an HTML page. */
export function hiddenField(html, name) {
  const m = html.match(new RegExp(`<input type="hidden" name="${name}" value="([^"]*)"`));
  if (!m) throw new Error(`no hidden field ${name} in page`);
  return m[1];
}

/** The text of the element with that id. */
export function elementText(html, id) {
  const m = html.match(new RegExp(`id="${id}"[^>]*>([^<]*)<`));
  return m ? m[1] : null;
}
