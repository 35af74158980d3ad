// Turns bench/results/latest.json (bench.mjs) into latest.md (the table) and
// plot.dat (for plot.gp). Usage: node bench/report.mjs RESULTS_DIR
import fs from 'node:fs';
import path from 'node:path';

const dir = process.argv[2];
const R = JSON.parse(fs.readFileSync(path.join(dir, 'latest.json'), 'utf8'));
const f0 = (x) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : 'n/a');
const f1 = (x) => (Number.isFinite(x) ? x.toFixed(1) : 'n/a');
const f2 = (x) => (Number.isFinite(x) ? x.toFixed(2) : 'n/a');
const pc = (x) => (Number.isFinite(x) ? `${(100 * x).toFixed(1)} %` : 'n/a');
const verdict = (ok) => (ok === undefined ? 'n/a' : ok ? '**pass**' : '**FAIL**');
const L = R.redisLogin ?? {};
const rpl = R.requestsPerLogin;
const staticLogins = R.staticRps / rpl;
// the limit is at least what one process reaches (on a noisy shared VM -multi can come out lower)
const es256Logins = Math.max(R.es256?.all ?? NaN, R.es256?.one ?? NaN) / (R.es256PerLogin ?? 1);
const es256One = (R.es256?.one ?? NaN) / (R.es256PerLogin ?? 1);
const tokenRatio = R.eidhubToken?.rate / R.peerToken?.rate;
const exchUs = (t) => (t?.cpuSeconds * 1e6) / t?.done; // the C driver's own CPU per exchange
// (d) eidhub's login cryptography in-process (bench/login-crypto), on all CPUs
const LC = R.loginCrypto ?? {};
const lcCpus = LC.cpus ?? Number(R.machine?.split(' ')[0]);
const lcLogins = (lcCpus * 1e6) / LC.mix?.perLoginUs;
const lcOne = (c) => (c ? `${c.key} citizen ${f0(c.verifyUs)} + ${f0(c.ocspQueryUs)} + ${f0(c.ocspAnswerUs)} + ${f0(c.idTokenUs)} = ${f0(c.perLoginUs)} µs` : 'n/a');
const cryptoRow = LC.error || !LC.mix ? ["(d) eidhub's cryptography of one Mobile-ID login", `not measured: ${LC.error ?? 'no result'}`, '', '', ''] : [
  `(d) eidhub's cryptography of one Mobile-ID login (in-process, no HTTP, no store; bench/login-crypto): eh_sk_verify of the citizen's certificate and signature + the OCSP query + eh_sk_ocsp_answer_check + the ES256 ID token, the run's citizens in turn (${LC.mix.turns.join(', ')})`,
  `${f0(LC.mix.perLoginUs)} µs CPU per login (${lcOne(LC.citizens?.rsa)}; ${lcOne(LC.citizens?.ec)}) → at most ${f0(lcLogins)} logins/s on all ${lcCpus} CPUs = ${pc(lcLogins / staticLogins)} of the static limit`,
  `login / crypto limit: ${pc(L.rate / lcLogins)}`, '', ''];
// CPU per login (cores × seconds ÷ logins) and nginx's CPU per static request during wrk
const cpuMsPerLogin = (cores) => (cores * L.secs * 1000) / L.done;
const staticUs = (R.staticCpu?.secs * 1e6) / R.staticCpu?.requests;
const loginCpuMs = R.cpu ? cpuMsPerLogin(R.cpu['nginx+eidhub']) : NaN;
const cpuRatio = (loginCpuMs * 1000) / (rpl * staticUs);
const P = R.pending ?? {};
const p99Ratio = R.otherBusy?.p99 / R.otherQuiet?.p99;
const ok = (x, cond) => (Number.isFinite(x) ? cond(x) : undefined);
// eIDAS responses: the verdicts compare rates per CPU-second (the machine is shared; pysaml2's
// includes its xmlsec1 child processes), one process each
const S = R.saml ?? {};
const SE = S.eidhub ?? {}; const SP = S.peer ?? {}; const SC = SE.crypto ?? {};
const S1 = SE.runs?.find((r) => r.procs === 1) ?? {};
const SM = SE.runs?.find((r) => r.procs > 1) ?? {};
const samlPeerRatio = S1.ratePerCpu / SP.ratePerCpu;
const samlCryptoRatio = S1.ratePerCpu / SC.limit;
const samlRows = S.error || !S.eidhub ? [['eIDAS response processing', `not measured: ${S.error ?? 'no result'}`, '', '≥ 10× pysaml2, ≥ 70 % of crypto', 'n/a']] : [
  [`eIDAS response processing (Connector): eidhub's eh_saml_response_consume over ${f0(SE.responses)} distinct Responses of ${f0(SE.responseBytes)} B (signed ECDSA P-256; assertion of ≈ ${f0(SE.assertionBytes)} B signed, then AES-256-GCM encrypted for RSA-3072 with OAEP)`,
    `${f1(S1.rate)} responses/s in 1 process (${f1(S1.ratePerCpu)} per CPU-second; ${f0(S1.count)} in ${f1(S1.secs)} s, ${S1.errors ?? 'n/a'} errors); ${f1(SM.rate)}/s in ${SM.procs ?? 'n/a'} processes`, '', '', ''],
  [`eIDAS response processing, same responses: pysaml2 SP (${SP.peer ?? 'pysaml2'}, tests/sim/pysaml2-connector.py's ACS)`,
    `${f1(SP.rate)} responses/s (${f1(SP.ratePerCpu)} per CPU-second, xmlsec1 children included; ${f0(SP.count)} in ${f1(SP.secs)} s, ${SP.errors ?? 'n/a'} errors)`,
    `eidhub / pysaml2 (per CPU-s): ${f1(samlPeerRatio)}× (wall: ${f1(S1.rate / SP.rate)}×)`, '≥ 10×', verdict(ok(samlPeerRatio, (x) => x >= 10))],
  ['(c) crypto limit of one response (OpenSSL EVP, same process): 1 RSA-3072 OAEP decryption (the only private-key operation) + 2 ECDSA P-256 verifications + AES-256-GCM of the assertion',
    `${f0(SC.rsa3072OaepDecryptUs)} + 2 × ${f0(SC.ecdsaP256VerifyUs)} + ${f1(SC.aes256GcmUs)} µs = ${f0(SC.perResponseUs)} µs CPU: ${f0(SC.limit)} responses per CPU-second (RSA decryptions alone: ${f0(SC.privateKeyLimit)})`,
    `eidhub / crypto limit: ${pc(samlCryptoRatio)}`, '≥ 70 %', verdict(ok(samlCryptoRatio, (x) => x >= 0.7))],
  ['Machine during the eIDAS part (it keeps one core busy, two in the 2-process run)',
    `${f2(S.machineCores)} cores busy on average (all processes); load average at its end ${S.loadavg?.map(f2).join(', ') ?? 'n/a'}`, '', '', ''],
];

const rows = [
  ['Full brokered login, Redis store (authorize → login page → Mobile-ID form → start → wait → status → finish → token → userinfo)',
    `${f1(L.rate)} logins/s, p50 ${f1(L.p50)} ms, p99 ${f1(L.p99)} ms (${f0(L.done)} logins, ${L.errors ?? 'n/a'} errors, ${R.params?.vus} clients; driven by bench/login-driver, C)`, '', '', ''],
  ['(a) static nginx response, same request count (wrk, same connections)',
    `${f0(R.staticRps)} req/s ÷ ${f2(rpl)} req/login = ${f0(staticLogins)} logins/s`, `login / static: ${pc(L.rate / staticLogins)}`, '≥ 30 %', verdict(ok(L.rate / staticLogins, (x) => x >= 0.3))],
  ['(b) private-key operations: 1 ES256 signature per login (the ID token), openssl speed ecdsap256',
    `${f0(R.es256?.one)} sign/s one process, ${f0(R.es256?.all)} with -multi (all CPUs); the larger = ${f0(es256Logins)} logins/s`, `login / ES256: ${pc(L.rate / es256Logins)}`, '', ''],
  cryptoRow,
  [`CPU per login against static requests: nginx+eidhub CPU per login ÷ (${f2(rpl)} × nginx CPU per static request during wrk)`,
    `${f2(loginCpuMs)} ms per login ÷ (${f2(rpl)} × ${f1(staticUs)} µs: ${f2(R.staticCpu?.secs)} s of nginx CPU for ${f0(R.staticCpu?.requests)} requests)`,
    `${f1(cpuRatio)}× (static / login in CPU: ${pc(1 / cpuRatio)})`, '', ''],
  ['Token endpoint, code exchange (client_secret_basic + PKCE, ES256 ID token; both endpoints driven by bench/login-driver --exchange, C): eidhub',
    `${f0(R.eidhubToken?.rate)} exchanges/s, p50 ${f1(R.eidhubToken?.p50)} ms, p99 ${f1(R.eidhubToken?.p99)} ms (${f0(R.eidhubToken?.done)} codes, ${R.eidhubToken?.errors ?? 'n/a'} errors; driver ${f0(exchUs(R.eidhubToken))} µs CPU per exchange)`, '', '', ''],
  [`Token endpoint, same exchange: oidc-provider ${R.peerVersion ?? ''} (Node ${process.versions.node})`,
    `${f0(R.peerToken?.rate)} exchanges/s, p50 ${f1(R.peerToken?.p50)} ms, p99 ${f1(R.peerToken?.p99)} ms (${f0(R.peerToken?.done)} codes, ${R.peerToken?.errors ?? 'n/a'} errors; driver ${f0(exchUs(R.peerToken))} µs CPU per exchange)`, `eidhub / oidc-provider: ${f2(tokenRatio)}×`, '≥ 5×', verdict(ok(tokenRatio, (x) => x >= 5))],
  ...samlRows,
  [`Waiting citizens: ${f0(P.n)} pending Mobile-ID logins (simulator phone never answers during the run)`,
    `${f0(P.n)} started in ${f1(P.secs)} s, ${P.errors ?? 'n/a'} errors. Redis INFO used_memory: ${f0(P.bytesEach)} B and ${f2(P.keysEach)} keys per pending login (MEMORY USAGE of a txn key: ${f0(P.memoryUsageSample)} B); worker RSS ${f0(P.rssBefore)} → ${f0(P.rssAfter)} KiB`,
    '', '≤ 1 KiB each', verdict(ok(P.bytesEach, (x) => x <= 1024))],
  ['Other requests meanwhile (authorize, login page, discovery, JWKS; 8 clients)',
    `p99 ${f2(R.otherBusy?.p99)} ms with them vs ${f2(R.otherQuiet?.p99)} ms without`, `${f2(p99Ratio)}×`, '≤ 2×', verdict(ok(p99Ratio, (x) => x <= 2))],
  ['Store comparison, same login run: Redis', `${f1(R.redisStore?.rate)} logins/s, p50 ${f1(R.redisStore?.p50)} ms, p99 ${f1(R.redisStore?.p99)} ms (${f0(R.redisStore?.done)} logins, ${R.redisStore?.errors ?? 'n/a'} errors)`, '', '', ''],
  ['Store comparison, same login run: embedded store (shm)', `${f1(R.shmStore?.rate)} logins/s, p50 ${f1(R.shmStore?.p50)} ms, p99 ${f1(R.shmStore?.p99)} ms (${f0(R.shmStore?.done)} logins, ${R.shmStore?.errors ?? 'n/a'} errors)`, `shm / Redis: ${f2(R.shmStore?.rate / R.redisStore?.rate)}×`, '', ''],
  [`Memory: worker RSS (2 workers) before and after ${f0(L.done)} logins`, `${f0(R.rssBefore)} → ${f0(R.rssAfter)} KiB (+${f0(R.rssAfter - R.rssBefore)} KiB)`, '', '', ''],
  ['Load drivers: the login runs and the token exchanges use bench/login-driver (C, libcurl, one thread); the Node driver (node:http) makes eidhub\'s token codes and the waiting citizens',
    `C driver: ${f1((L.cpuSeconds * 1e6) / (L.done * (L.requestsPerLogin ?? rpl)))} µs CPU per request at ${f0(L.rate * rpl)} req/s (${f2(L.cpuSeconds / L.secs)} cores); Node driver against the static response: ${f0(R.driverRps)} req/s`, '', '', ''],
];
let md = `| measurement | result | ratio | target | verdict |\n|---|---|---|---|---|\n`;
md += rows.map((r) => `| ${r.join(' | ')} |`).join('\n') + '\n';
md += `\nRun ${R.started} – ${R.finished} on ${R.machine}; parameters ${JSON.stringify(R.params)}.`;
if (R.error) md += `\n\n**The run stopped early:** \`${R.error.split('\n')[0]}\``;
if (R.steps) {
  md += '\n\nWhere a login\'s time goes (Redis run):\n\n| request | p50 ms | p99 ms |\n|---|---|---|\n';
  md += Object.entries(R.steps).map(([k, v]) => `| ${k} | ${f1(v.p50)} | ${f1(v.p99)} |`).join('\n');
}
if (R.cpu) {
  md += '\n\nCPU during the Redis login run (cores busy on average, of ' + R.machine.split(' ')[0] + '; CPU ms per login = cores × seconds ÷ logins, which a shared machine disturbs less than the rate):\n\n| process | cores | CPU ms per login |\n|---|---|---|\n';
  md += Object.entries(R.cpu).map(([k, v]) => `| ${k} | ${f2(v)} | ${f2(cpuMsPerLogin(v))} |`).join('\n');
  if (R.staticCpu) md += `\n| nginx serving the static response during wrk (a) | | ${f1(staticUs)} µs per request |`;
}
if (R.loadavg) md += `\n\nLoad average at the end of that run: ${R.loadavg.map(f2).join(', ')}. The machine is shared: CPU used by other processes competes with the benchmark, so compare ratios within one run, not numbers across runs.`;
fs.writeFileSync(path.join(dir, 'latest.md'), md + '\n');

const plot = [
  ['login\\nRedis', L.rate], ['login\\nshm', R.shmStore?.rate], ['static HTTP\\nlimit (logins/s)', staticLogins],
  ['ES256 sign\\nlimit (logins/s)', es256Logins], ['eidhub login crypto\\nlimit (logins/s)', lcLogins],
  ['token eidhub\\n(exchanges/s)', R.eidhubToken?.rate],
  ['token oidc-provider\\n(exchanges/s)', R.peerToken?.rate],
  ['eIDAS responses\\neidhub (/s)', S1.rate], ['eIDAS responses\\npysaml2 (/s)', SP.rate],
  ['eIDAS crypto\\nlimit (/CPU-s)', SC.limit],
].filter(([, v]) => Number.isFinite(v) && v > 0);
fs.writeFileSync(path.join(dir, 'plot.dat'), plot.map(([k, v], i) => `${i} "${k}" ${v.toFixed(1)}`).join('\n') + '\n');
