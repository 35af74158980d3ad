// Raw ECDSA P-256 signing of a hash the caller already made, in process: what
// a Mobile-ID SIM does and Node's crypto cannot (crypto.sign hashes its input
// once more). The simulators used to run `openssl pkeyutl -sign` for each
// such signature, a child process per login that cost more CPU than eidhub's
// whole login and stalled the simulator's event loop (measured in
// bench/results/profile-2026-11-23.md). Test code: random k from
// crypto.randomBytes, BigInt arithmetic (not constant time), and a self-check
// against Node's verifier before a key is used.
import crypto from 'node:crypto';

const P = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn;
const N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const G = [0x6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296n,
  0x4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5n];

const mod = (a, m = P) => { const r = a % m; return r < 0n ? r + m : r; };
function inv(a, m = P) { // extended Euclid; a in [1, m)
  let [r0, r1, s0, s1] = [mod(a, m), m, 1n, 0n];
  while (r1 !== 0n) { const q = r0 / r1; [r0, r1] = [r1, r0 - q * r1]; [s0, s1] = [s1, s0 - q * s1]; }
  return mod(s0, m);
}

// Jacobian points [X, Y, Z] (Z = 0n: infinity), curve a = -3.
function double([X, Y, Z]) {
  if (Z === 0n || Y === 0n) return [0n, 1n, 0n];
  const delta = mod(Z * Z); const gamma = mod(Y * Y); const beta = mod(X * gamma);
  const alpha = mod(3n * (X - delta) * (X + delta));
  const X3 = mod(alpha * alpha - 8n * beta);
  const Z3 = mod((Y + Z) * (Y + Z) - gamma - delta);
  const Y3 = mod(alpha * (4n * beta - X3) - 8n * gamma * gamma);
  return [X3, Y3, Z3];
}
function addAffine(p1, [x2, y2]) { // Jacobian + affine
  const [X1, Y1, Z1] = p1;
  if (Z1 === 0n) return [x2, y2, 1n];
  const Z1Z1 = mod(Z1 * Z1); const U2 = mod(x2 * Z1Z1); const S2 = mod(y2 * Z1 * Z1Z1);
  const H = mod(U2 - X1); const r = mod(2n * (S2 - Y1));
  if (H === 0n) return r === 0n ? double(p1) : [0n, 1n, 0n];
  const HH = mod(H * H); const I = 4n * HH; const J = mod(H * I); const V = mod(X1 * I);
  const X3 = mod(r * r - J - 2n * V);
  const Y3 = mod(r * (V - X3) - 2n * Y1 * J);
  const Z3 = mod((Z1 + H) * (Z1 + H) - Z1Z1 - HH);
  return [X3, Y3, Z3];
}
const affine = ([X, Y, Z]) => { const zi = inv(Z); const zi2 = mod(zi * zi); return [mod(X * zi2), mod(Y * zi2 * zi)]; };

// Fixed-base table: TABLE[i][j] = j * 16^i * G (affine), j = 1..15: k*G is 64 additions.
let TABLE = null;
function table() {
  if (TABLE) return TABLE;
  TABLE = [];
  let base = [G[0], G[1], 1n];
  for (let i = 0; i < 64; i++) {
    const row = [null];
    let acc = [0n, 1n, 0n];
    const b = affine(base);
    for (let j = 1; j < 16; j++) { acc = addAffine(acc, b); row.push(affine(acc)); }
    TABLE.push(row);
    for (let d = 0; d < 4; d++) base = double(base);
  }
  return TABLE;
}
function mulG(k) {
  const t = table();
  let acc = [0n, 1n, 0n];
  for (let i = 0; i < 64; i++) {
    const nib = Number((k >> BigInt(4 * i)) & 15n);
    if (nib) acc = addAffine(acc, t[i][nib]);
  }
  return affine(acc);
}

const toInt = (buf) => BigInt(`0x${Buffer.from(buf).toString('hex') || '0'}`);
const toBytes = (n) => Buffer.from(n.toString(16).padStart(64, '0'), 'hex');

function signWith(d, hash) {
  const e = toInt(Buffer.from(hash).subarray(0, 32)); // leftmost 256 bits of the hash
  for (;;) {
    const k = toInt(crypto.randomBytes(40)) % (N - 1n) + 1n;
    const r = mod(mulG(k)[0], N);
    if (r === 0n) continue;
    const s = mod(inv(k, N) * (e + r * d), N);
    if (s === 0n) continue;
    return Buffer.concat([toBytes(r), toBytes(s)]);
  }
}

/**
 * A signer for a P-256 private KeyObject: fn(hash) -> r||s (64 bytes), or
 * null for another curve or when the self-check against Node's verifier fails
 * (the caller then signs some other way).
 */
export function p256Signer(privateKey) {
  if (privateKey.asymmetricKeyType !== 'ec' || privateKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') return null;
  const d = toInt(Buffer.from(privateKey.export({ format: 'jwk' }).d, 'base64url'));
  const sign = (hash) => signWith(d, hash);
  const msg = crypto.randomBytes(32);
  const sig = sign(crypto.createHash('sha256').update(msg).digest());
  const ok = crypto.verify('sha256', msg, { key: crypto.createPublicKey(privateKey), dsaEncoding: 'ieee-p1363' }, sig);
  return ok ? sign : null;
}
