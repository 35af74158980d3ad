// eIDAS nodes in tests and the demo: the keys and settings of a node (a
// signing key, EC P-256 or RSA-3072 for RSASSA-PSS, and an RSA-3072
// encryption key, each with a self-signed certificate, made with the openssl
// CLI without blocking), and reading the auto-submitted SAML form of a page.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** Makes a private key (type 'ec' or 'rsa') and its certificate in dir as <name>.pem / <name>.crt. */
export async function keyAndCert(dir, name, type, subject) {
  const key = path.join(dir, `${name}.pem`);
  const crt = path.join(dir, `${name}.crt`);
  await execFileAsync('openssl', ['genpkey', '-algorithm', type === 'ec' ? 'EC' : 'RSA', '-pkeyopt',
    type === 'ec' ? 'ec_paramgen_curve:P-256' : 'rsa_keygen_bits:3072', '-out', key]);
  await execFileAsync('openssl', ['req', '-x509', '-new', '-key', key, '-out', crt, '-days', '3650',
    '-subj', `/CN=${subject}`, '-sha256']);
  return { key, crt };
}

/**
 * The "saml" member of a broker configuration for a node of country, with
 * fresh keys in dir: signing 'ec' (ECDSA-SHA256) or 'rsa' (RSASSA-PSS).
 * Resolves to {settings, signingCert} (the certificate peers trust).
 */
export async function samlNode(dir, country, { signing = 'ec', extra = {} } = {}) {
  const [sign, enc] = await Promise.all([
    keyAndCert(dir, `saml-sign-${country}`, signing, `eidhub ${country} signing`),
    keyAndCert(dir, `saml-enc-${country}`, 'rsa', `eidhub ${country} encryption`),
  ]);
  return {
    signingCert: sign.crt,
    settings: {
      country,
      signing_key_file: sign.key,
      signing_cert_file: sign.crt,
      encryption_key_file: enc.key,
      encryption_cert_file: enc.crt,
      ...extra,
    },
  };
}

/** The auto-submitted SAML form of a page (broker/saml/saml_post.c): its action and hidden fields. */
export function samlForm(html) {
  const form = html.match(/<form [^>]*data-autosubmit[^>]*>/);
  const action = form?.[0].match(/action="([^"]*)"/);
  assert.ok(action, 'an auto-submitted SAML form');
  const unescape = (s) => s.replaceAll('&quot;', '"').replaceAll('&amp;', '&');
  const fields = {};
  for (const m of html.matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)"/g)) fields[m[1]] = unescape(m[2]);
  return { action: unescape(action[1]), fields };
}
