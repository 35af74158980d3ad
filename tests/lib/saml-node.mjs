// The keys and settings of an eIDAS node for tests and the demo: a signing
// key (EC P-256, or RSA-3072 for RSASSA-PSS) and an RSA-3072 encryption key,
// each with a self-signed certificate, made with the openssl CLI.
import { spawnSync } from 'node:child_process';
import path from 'node:path';

function openssl(...args) {
  const r = spawnSync('openssl', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl ${args[0]} failed: ${r.stderr}`);
}

/** Makes a private key (type 'ec' or 'rsa') and its certificate in dir as <name>.pem / <name>.crt. */
export function keyAndCert(dir, name, type, subject) {
  const key = path.join(dir, `${name}.pem`);
  const crt = path.join(dir, `${name}.crt`);
  if (type === 'ec') openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', key);
  else openssl('genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:3072', '-out', key);
  openssl('req', '-x509', '-new', '-key', key, '-out', crt, '-days', '3650', '-subj', `/CN=${subject}`, '-sha256');
  return { key, crt };
}

/**
 * The "saml" member of a broker configuration for a node of country, with
 * fresh keys in dir: signing 'ec' (ECDSA-SHA256) or 'rsa' (RSASSA-PSS).
 * Returns {settings, signingCert} (the certificate peers trust).
 */
export function samlNode(dir, country, { signing = 'ec', extra = {} } = {}) {
  const sign = keyAndCert(dir, `saml-sign-${country}`, signing, `eidhub ${country} signing`);
  const enc = keyAndCert(dir, `saml-enc-${country}`, 'rsa', `eidhub ${country} encryption`);
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
