// Test PKI for the eID simulators (Mobile-ID, Smart-ID): creates,
// with the `openssl` command line tool, a test CA in a folder and issues
// end-entity certificates for test citizens whose subject looks like the one
// in SK ID Solutions' certificates:
//   C=EE, CN=SURNAME,GIVENNAME,PNOEE-38001085718, SN=SURNAME, GN=GIVENNAME,
//   serialNumber=PNOEE-38001085718
// (the personal code carries the ETSI EN 319 412-1 semantics prefix PNOEE-).
// Also holds the Estonian (and Lithuanian) and Latvian personal code helpers,
// since the citizens' certificates are built around them. Everything here is
// test data.
//
// Usage:
//   const ca = await createTestCA(dir, { name: 'mid-ca', commonName: '...' });
//   const leaf = await issueCertificate(ca, {
//     name: 'alice-auth', subject: citizenSubject({ surname, givenName, personalCode }),
//     keyType: 'ec' | 'rsa', expired: false,
//   });
//   leaf.certFile / leaf.keyFile / leaf.certPem / leaf.certDer / leaf.x509 / leaf.privateKey
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

async function openssl(args, opts = {}) {
  try {
    return await run('openssl', args, { maxBuffer: 1 << 24, ...opts });
  } catch (e) {
    throw new Error(`openssl ${args.join(' ')} failed: ${e.stderr || e.message}`);
  }
}

// ---------------------------------------------------------------------------
// Estonian personal code (isikukood): GYYMMDDSSSC. G gives century and sex
// (1/2: 1800s, 3/4: 1900s, 5/6: 2000s, 7/8: 2100s; odd = male, even = female),
// SSS is a sequence number and C the checksum (weights 1..9,1; if the
// remainder is 10 then weights 3..9,1,2,3; if that is 10 too, 0).

/** The checksum digit for the first 10 digits of an Estonian personal code. */
export function personalCodeChecksum(first10) {
  const d = [...String(first10).slice(0, 10)].map(Number);
  const sum = (w) => d.reduce((acc, x, i) => acc + x * w[i], 0) % 11;
  let c = sum([1, 2, 3, 4, 5, 6, 7, 8, 9, 1]);
  if (c === 10) {
    c = sum([3, 4, 5, 6, 7, 8, 9, 1, 2, 3]);
    if (c === 10) c = 0;
  }
  return c;
}

/** Birth date (YYYY-MM-DD) and sex ('M' | 'F') from a personal code, or null if it is not valid. */
export function personalCodeInfo(code) {
  if (!/^[1-8]\d{10}$/.test(String(code))) return null;
  code = String(code);
  if (personalCodeChecksum(code) !== Number(code[10])) return null;
  const g = Number(code[0]);
  const year = 1800 + 100 * Math.floor((g - 1) / 2) + Number(code.slice(1, 3));
  const month = Number(code.slice(3, 5));
  const day = Number(code.slice(5, 7));
  const date = new Date(Date.UTC(year, month - 1, day));
  if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) return null;
  return { dateOfBirth: date.toISOString().slice(0, 10), sex: g % 2 === 1 ? 'M' : 'F' };
}

/** True if code is a well-formed Estonian personal code with a right checksum and a real date. */
export function isValidPersonalCode(code) {
  return personalCodeInfo(code) !== null;
}

/** Builds a valid personal code from a birth date ('YYYY-MM-DD'), a sex and a sequence number 0..999. */
export function makePersonalCode(dateOfBirth, sex, sequence = 0) {
  const [y, m, d] = dateOfBirth.split('-');
  const century = Math.floor(Number(y) / 100) - 18; // 1800s -> 0, 1900s -> 1, ...
  const g = 2 * century + (sex === 'M' ? 1 : 2);
  const first10 = `${g}${y.slice(2)}${m}${d}${String(sequence).padStart(3, '0')}`;
  return first10 + personalCodeChecksum(first10);
}

// Latvian personal code (personas kods), 11 digits written DDMMYY-CNNNX: C
// gives the century of birth (0: 1800s, 1: 1900s, 2: 2000s); codes issued
// since 2017 start with 32 and carry no birth date. X is a checksum: (1101 -
// sum of the first ten digits weighted 1,6,3,7,9,10,5,8,4,2) mod 11 (never 10).

/** The checksum digit for the first 10 digits of a Latvian personal code (hyphen ignored), or null if none fits. */
export function latvianPersonalCodeChecksum(first10) {
  const d = [...String(first10).replace('-', '').slice(0, 10)].map(Number);
  const w = [1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  const c = (1101 - d.reduce((acc, x, i) => acc + x * w[i], 0)) % 11;
  return c >= 0 && c < 10 ? c : null;
}

/**
 * { dateOfBirth: 'YYYY-MM-DD' or null (codes starting 32), sex: null } from a
 * Latvian personal code 'DDMMYY-NNNNN' (or without the hyphen), or null if it is not valid.
 */
export function latvianPersonalCodeInfo(code) {
  const m = /^(\d{6})-?(\d{5})$/.exec(String(code));
  if (!m) return null;
  const digits = m[1] + m[2];
  if (latvianPersonalCodeChecksum(digits) !== Number(digits[10])) return null;
  if (digits.startsWith('32')) return { dateOfBirth: null, sex: null };
  const century = Number(digits[6]);
  if (century > 2) return null;
  const year = 1800 + 100 * century + Number(digits.slice(4, 6));
  const month = Number(digits.slice(2, 4));
  const day = Number(digits.slice(0, 2));
  const date = new Date(Date.UTC(year, month - 1, day));
  if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) return null;
  return { dateOfBirth: date.toISOString().slice(0, 10), sex: null };
}

/**
 * Birth date and sex from a national personal code of a country: EE and LT
 * (same scheme) via personalCodeInfo, LV via latvianPersonalCodeInfo; null if
 * the code is not valid or the country not known here.
 */
export function nationalIdInfo(country, code) {
  if (country === 'EE' || country === 'LT') return personalCodeInfo(code);
  if (country === 'LV') return latvianPersonalCodeInfo(code);
  return null;
}

/** Age in whole years on a given day (default today, UTC) of someone born on dateOfBirth ('YYYY-MM-DD'). */
export function ageOn(dateOfBirth, on = new Date()) {
  const [y, m, d] = dateOfBirth.split('-').map(Number);
  let age = on.getUTCFullYear() - y;
  if (on.getUTCMonth() + 1 < m || (on.getUTCMonth() + 1 === m && on.getUTCDate() < d)) age--;
  return age;
}

// ---------------------------------------------------------------------------
// Subjects

/**
 * The subject of a citizen's certificate, as SK issues it, as an ordered list
 * of [attribute, value]: C, CN="SURNAME,GIVENNAME,PNOEE-code", SN, GN,
 * serialNumber="PNOEE-code". Names are upper case in SK's certificates.
 */
export function citizenSubject({ country = 'EE', surname, givenName, personalCode, extra = [] }) {
  const sn = surname.toUpperCase();
  const gn = givenName.toUpperCase();
  const id = `PNO${country}-${personalCode}`;
  return [['C', country], ...extra, ['CN', `${sn},${gn},${id}`], ['SN', sn], ['GN', gn], ['serialNumber', id]];
}

/** An ordered [attribute, value] list as openssl's -subj argument. */
function subjArg(subject) {
  const esc = (v) => String(v).replace(/[\\/+]/g, (c) => `\\${c}`);
  return subject.map(([k, v]) => `/${k}=${esc(v)}`).join('');
}

// ---------------------------------------------------------------------------
// Keys, CAs and certificates

/** Generates a private key (PKCS#8 PEM) into file: keyType 'ec' (P-256) or 'rsa' (rsaBits, default 2048). */
export async function generateKey(file, { keyType = 'ec', rsaBits = 2048 } = {}) {
  const args = keyType === 'rsa'
    ? ['genpkey', '-algorithm', 'RSA', '-pkeyopt', `rsa_keygen_bits:${rsaBits}`, '-out', file]
    : ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-pkeyopt', 'ec_param_enc:named_curve', '-out', file];
  if (keyType !== 'rsa' && keyType !== 'ec') throw new Error(`unknown keyType ${keyType}`);
  await openssl(args);
  fs.chmodSync(file, 0o600);
  return file;
}

/** openssl's YYYYMMDDHHMMSSZ form of a Date. */
function asn1Time(date) {
  return date.toISOString().replace(/[-:T]/g, '').replace(/\.\d+Z$/, 'Z');
}

function caConfig(db, keyFile, certFile) {
  return `# openssl ca configuration of a test CA (written by tests/sim/test-ca.mjs)
[ ca ]
default_ca = test_ca

[ test_ca ]
dir            = ${db}
database       = $dir/index.txt
new_certs_dir  = $dir/issued
serial         = $dir/serial
private_key    = ${keyFile}
certificate    = ${certFile}
default_md     = sha256
policy         = policy_any
unique_subject = no
copy_extensions = none
email_in_dn    = no
name_opt       = multiline,-esc_msb,utf8
cert_opt       = ca_default

[ policy_any ]
countryName = optional

[ req ]
distinguished_name = req_dn
string_mask = utf8only
prompt = no

[ req_dn ]
CN = unused

[ v3_ca ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
`;
}

/**
 * Creates a self-signed test CA in dir: <name>.pem (certificate), <name>-key.pem
 * and a <name>.db folder that openssl ca keeps its records in.
 * keyType 'ec' (P-256, default) or 'rsa' (3072 bits). Valid from a day ago for `days`.
 * Returns { name, dir, certFile, keyFile, certPem, x509 } and issues with issueCertificate().
 */
export async function createTestCA(dir, {
  name = 'test-ca', commonName = 'TEST of eidhub CA', organization = 'eidhub test PKI', country = 'EE',
  subject, keyType = 'ec', rsaBits = 3072, days = 3650,
} = {}) {
  fs.mkdirSync(dir, { recursive: true });
  const certFile = path.join(dir, `${name}.pem`);
  const keyFile = path.join(dir, `${name}-key.pem`);
  const db = path.join(dir, `${name}.db`);
  fs.rmSync(db, { recursive: true, force: true });
  fs.mkdirSync(path.join(db, 'issued'), { recursive: true });
  fs.writeFileSync(path.join(db, 'index.txt'), '');
  fs.writeFileSync(path.join(db, 'index.txt.attr'), 'unique_subject = no\n');
  // A random positive 16-byte serial to start from, as real CAs use.
  fs.writeFileSync(path.join(db, 'serial'), `${(crypto.randomBytes(16)[0] & 0x3f).toString(16).padStart(2, '0')}${crypto.randomBytes(15).toString('hex')}\n`);
  const config = path.join(db, 'openssl.cnf');
  fs.writeFileSync(config, caConfig(db, keyFile, certFile));

  await generateKey(keyFile, { keyType, rsaBits });
  subject ??= [['C', country], ['O', organization], ['CN', commonName]];
  const csr = path.join(db, 'ca.csr');
  await openssl(['req', '-new', '-config', config, '-utf8', '-key', keyFile, '-subj', subjArg(subject), '-out', csr]);
  const now = Date.now();
  await openssl(['ca', '-batch', '-config', config, '-selfsign', '-keyfile', keyFile, '-in', csr, '-out', certFile,
    '-utf8', '-preserveDN', '-notext', '-extensions', 'v3_ca',
    '-startdate', asn1Time(new Date(now - 86400e3)), '-enddate', asn1Time(new Date(now + days * 86400e3))]);
  fs.writeFileSync(certFile, pemOnly(fs.readFileSync(certFile, 'utf8')));
  const certPem = fs.readFileSync(certFile, 'utf8');
  const ca = { name, dir, db, config, certFile, keyFile, certPem, x509: new crypto.X509Certificate(certPem), queue: Promise.resolve() };
  return ca;
}

/** Loads a CA created earlier by createTestCA (same dir and name) to issue more certificates. */
export function loadTestCA(dir, name = 'test-ca') {
  const certFile = path.join(dir, `${name}.pem`);
  const db = path.join(dir, `${name}.db`);
  const certPem = fs.readFileSync(certFile, 'utf8');
  return {
    name, dir, db, config: path.join(db, 'openssl.cnf'), certFile, keyFile: path.join(dir, `${name}-key.pem`),
    certPem, x509: new crypto.X509Certificate(certPem), queue: Promise.resolve(),
  };
}

function pemOnly(text) {
  const m = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/);
  if (!m) throw new Error('no certificate in openssl output');
  return m[0].endsWith('\n') ? m[0] : `${m[0]}\n`;
}

/**
 * Issues an end-entity certificate from ca into ca.dir:
 *   name          file name stem: <name>.pem and <name>-key.pem
 *   subject       ordered [attribute, value] list, e.g. from citizenSubject()
 *   keyType       'rsa' (rsaBits, default 2048) or 'ec' (P-256); ignored if keyFile is given
 *   keyFile       an existing private key to certify instead of a new one
 *   keyUsage      openssl keyUsage names, default ['digitalSignature'] (critical)
 *   extKeyUsage   e.g. ['clientAuth']; none by default
 *   expired       true: valid from 2 years ago until yesterday
 *   notBefore, notAfter  explicit validity (Dates); default from an hour ago for `days` (730)
 *   policies      certificatePolicies OIDs (optional)
 * Returns { certFile, keyFile, certPem, certDer (base64 DER), x509, privateKey (KeyObject), keyType }.
 */
export async function issueCertificate(ca, {
  name, subject, keyType = 'ec', rsaBits = 2048, keyFile, keyUsage = ['digitalSignature'], extKeyUsage = [],
  expired = false, notBefore, notAfter, days = 730, policies = [],
}) {
  if (!name || !subject) throw new Error('issueCertificate needs a name and a subject');
  const certFile = path.join(ca.dir, `${name}.pem`);
  if (!keyFile) {
    keyFile = path.join(ca.dir, `${name}-key.pem`);
    await generateKey(keyFile, { keyType, rsaBits });
  }
  const now = Date.now();
  if (expired) {
    notBefore ??= new Date(now - 2 * 365 * 86400e3);
    notAfter ??= new Date(now - 86400e3);
  }
  notBefore ??= new Date(now - 3600e3);
  notAfter ??= new Date(notBefore.getTime() + days * 86400e3);

  const ext = [
    '[ leaf ]',
    'basicConstraints = critical, CA:FALSE',
    `keyUsage = critical, ${keyUsage.join(', ')}`,
    'subjectKeyIdentifier = hash',
    'authorityKeyIdentifier = keyid:always',
  ];
  if (extKeyUsage.length) ext.push(`extendedKeyUsage = ${extKeyUsage.join(', ')}`);
  if (policies.length) ext.push(`certificatePolicies = ${policies.join(', ')}`);
  const extFile = path.join(ca.db, `${name}.ext`);
  const csr = path.join(ca.db, `${name}.csr`);
  fs.writeFileSync(extFile, `${ext.join('\n')}\n`);
  await openssl(['req', '-new', '-config', ca.config, '-utf8', '-key', keyFile, '-subj', subjArg(subject), '-out', csr]);

  // openssl ca keeps a database: one issuance at a time per CA.
  const issue = ca.queue.then(() => openssl(['ca', '-batch', '-config', ca.config, '-in', csr, '-out', certFile,
    '-utf8', '-preserveDN', '-notext', '-extfile', extFile, '-extensions', 'leaf',
    '-startdate', asn1Time(notBefore), '-enddate', asn1Time(notAfter)]));
  ca.queue = issue.catch(() => {});
  await issue;
  fs.writeFileSync(certFile, pemOnly(fs.readFileSync(certFile, 'utf8')));
  return loadCertificate(certFile, keyFile);
}

/** Reads a certificate and its key written by issueCertificate. */
export function loadCertificate(certFile, keyFile) {
  const certPem = fs.readFileSync(certFile, 'utf8');
  const x509 = new crypto.X509Certificate(certPem);
  const privateKey = crypto.createPrivateKey(fs.readFileSync(keyFile));
  return {
    certFile, keyFile, certPem, x509, privateKey,
    certDer: x509.raw.toString('base64'),
    keyType: privateKey.asymmetricKeyType, // 'rsa' | 'ec'
  };
}
