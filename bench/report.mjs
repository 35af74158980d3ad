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
const P = R.pending ?? {};
const p99Ratio = R.otherBusy?.p99 / R.otherQuiet?.p99;
const ok = (x, cond) => (Number.isFinite(x) ? cond(x) : undefined);

const rows = [
  ['Full brokered login, Redis store (authorize → login page → Mobile-ID form → start → wait → status → finish → token → userinfo)',
    `${f1(L.rate)} logins/s, p50 ${f1(L.p50)} ms, p99 ${f1(L.p99)} ms (${f0(L.done)} logins, ${L.errors ?? 'n/a'} errors, ${R.params?.vus} clients)`, '', '', ''],
  ['(a) static nginx response, same request count (wrk, same connections)',
    `${f0(R.staticRps)} req/s ÷ ${f2(rpl)} req/login = ${f0(staticLogins)} logins/s`, `login / static: ${pc(L.rate / staticLogins)}`, '≥ 30 %', verdict(ok(L.rate / staticLogins, (x) => x >= 0.3))],
  ['(b) private-key operations: 1 ES256 signature per login (the ID token), openssl speed ecdsap256',
    `${f0(R.es256?.one)} sign/s one process, ${f0(R.es256?.all)} with -multi (all CPUs); the larger = ${f0(es256Logins)} logins/s`, `login / ES256: ${pc(L.rate / es256Logins)}`, '', ''],
  ['Token endpoint, code exchange (client_secret_basic + PKCE, ES256 ID token): eidhub',
    `${f0(R.eidhubToken?.rate)} exchanges/s, p50 ${f1(R.eidhubToken?.p50)} ms, p99 ${f1(R.eidhubToken?.p99)} ms (${f0(R.eidhubToken?.done)} codes, ${R.eidhubToken?.errors ?? 'n/a'} errors)`, '', '', ''],
  [`Token endpoint, same exchange: oidc-provider ${R.peerVersion ?? ''} (Node ${process.versions.node})`,
    `${f0(R.peerToken?.rate)} exchanges/s, p50 ${f1(R.peerToken?.p50)} ms, p99 ${f1(R.peerToken?.p99)} ms (${f0(R.peerToken?.done)} codes, ${R.peerToken?.errors ?? 'n/a'} errors)`, `eidhub / oidc-provider: ${f2(tokenRatio)}×`, '≥ 5×', verdict(ok(tokenRatio, (x) => x >= 5))],
  ['SAML peer comparison', 'not measured: eidhub has no SAML yet', '', '', 'n/a'],
  [`Waiting citizens: ${f0(P.n)} pending Mobile-ID logins (simulator phone never answers during the run)`,
    `${f0(P.n)} started in ${f1(P.secs)} s, ${P.errors ?? 'n/a'} errors. Redis INFO used_memory: ${f0(P.bytesEach)} B and ${f2(P.keysEach)} keys per pending login (MEMORY USAGE of a txn key: ${f0(P.memoryUsageSample)} B); worker RSS ${f0(P.rssBefore)} → ${f0(P.rssAfter)} KiB`,
    '', '≤ 1 KiB each', verdict(ok(P.bytesEach, (x) => x <= 1024))],
  ['Other requests meanwhile (authorize, login page, discovery, JWKS; 8 clients)',
    `p99 ${f2(R.otherBusy?.p99)} ms with them vs ${f2(R.otherQuiet?.p99)} ms without`, `${f2(p99Ratio)}×`, '≤ 2×', verdict(ok(p99Ratio, (x) => x <= 2))],
  ['Store comparison, same login run: Redis', `${f1(R.redisStore?.rate)} logins/s, p50 ${f1(R.redisStore?.p50)} ms, p99 ${f1(R.redisStore?.p99)} ms (${f0(R.redisStore?.done)} logins, ${R.redisStore?.errors ?? 'n/a'} errors)`, '', '', ''],
  ['Store comparison, same login run: embedded store (shm)', `${f1(R.shmStore?.rate)} logins/s, p50 ${f1(R.shmStore?.p50)} ms, p99 ${f1(R.shmStore?.p99)} ms (${f0(R.shmStore?.done)} logins, ${R.shmStore?.errors ?? 'n/a'} errors)`, `shm / Redis: ${f2(R.shmStore?.rate / R.redisStore?.rate)}×`, '', ''],
  [`Memory: worker RSS (2 workers) before and after ${f0(L.done)} logins`, `${f0(R.rssBefore)} → ${f0(R.rssAfter)} KiB (+${f0(R.rssAfter - R.rssBefore)} KiB)`, '', '', ''],
  ['Load driver ceiling (this Node driver against the static response)', `${f0(R.driverRps)} req/s vs ${f0(L.rate * rpl)} req/s the login run needed`, `${pc(L.rate * rpl / R.driverRps)} of its ceiling`, '', ''],
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
  md += '\n\nCPU during the Redis login run (cores busy on average, of ' + R.machine.split(' ')[0] + '):\n\n| process | cores |\n|---|---|\n';
  md += Object.entries(R.cpu).map(([k, v]) => `| ${k} | ${f2(v)} |`).join('\n');
}
if (R.loadavg) md += `\n\nLoad average at the end of that run: ${R.loadavg.map(f2).join(', ')}. The machine is shared: CPU used by other processes competes with the benchmark, so compare ratios within one run, not numbers across runs.`;
fs.writeFileSync(path.join(dir, 'latest.md'), md + '\n');

const plot = [
  ['login\\nRedis', L.rate], ['login\\nshm', R.shmStore?.rate], ['static HTTP\\nlimit (logins/s)', staticLogins],
  ['ES256 sign\\nlimit (logins/s)', es256Logins], ['token eidhub\\n(exchanges/s)', R.eidhubToken?.rate],
  ['token oidc-provider\\n(exchanges/s)', R.peerToken?.rate],
].filter(([, v]) => Number.isFinite(v) && v > 0);
fs.writeFileSync(path.join(dir, 'plot.dat'), plot.map(([k, v], i) => `${i} "${k}" ${v.toFixed(1)}`).join('\n') + '\n');
