// Turns a soak run's results (bench/soak.mjs) into its Markdown report and
// the data files of bench/soak.gp. report(R, name) -> {md, dat, faultDat};
// also `node bench/soak-report.mjs RESULT.json` rewrites RESULT.md/.dat.
import fs from 'node:fs';

const f0 = (x) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : 'n/a');
const f1 = (x) => (Number.isFinite(x) ? x.toFixed(1) : 'n/a');
const dur = (ms) => (!Number.isFinite(ms) ? 'n/a' : ms < 120e3 ? `${f1(ms / 1e3)} s` : `${f1(ms / 60e3)} min`);
const mib = (kib) => (Number.isFinite(kib) ? (kib / 1024).toFixed(1) : 'n/a');
const mmss = (s) => (Number.isFinite(s) ? `${Math.floor(s / 60)}:${String(Math.floor(s % 60)).padStart(2, '0')}` : 'n/a');
const verdict = (ok) => (ok === undefined ? 'n/a' : ok ? '**pass**' : '**FAIL**');
const top = (errors, n = 4) => Object.entries(errors ?? {}).sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, v]) => `${v}× ${k.replaceAll('|', '/')}`).join('; ') || '—';
const table = (head, rows) => [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');

export function report(R, name) {
  const E = R.events ?? { windows: [], outside: { ok: 0, failed: 0, errors: {} }, all: { ok: 0, failed: 0, byKind: {} }, latency: {} };
  const samples = R.samples ?? [];
  const load = samples.filter((s) => s.phase === 'load');
  const drain = samples.filter((s) => s.phase === 'drain');
  const P = R.params ?? {};

  // memory: each worker by pid, across the samples in which it lived
  const workers = {};
  for (const s of samples) {
    for (const [pid, w] of Object.entries(s.workers ?? {})) {
      const x = (workers[pid] ??= { node: w.node, first: s.t, firstRss: w.rss, max: 0 });
      x.last = s.t; x.lastRss = w.rss; x.max = Math.max(x.max, w.rss ?? 0);
      // growth over the second half of its life under load: the first minutes fill caches
      if (s.phase === 'load') { x.loadSamples = (x.loadSamples ?? 0) + 1; (x.loadRss ??= []).push([s.t, w.rss]); }
    }
  }
  const memRows = Object.entries(workers).map(([pid, w]) => {
    const pts = w.loadRss ?? [];
    const half = pts.slice(Math.floor(pts.length / 2));
    const growth = half.length > 1 ? (half.at(-1)[1] - half[0][1]) / Math.max(1, (half.at(-1)[0] - half[0][0]) / 60) : NaN;
    w.growthKiBPerMin = growth;
    return [`${w.node} ${pid}`, mmss(w.first), mmss(w.last), mib(w.firstRss), mib(w.max), mib(w.lastRss),
      Number.isFinite(growth) ? `${(growth).toFixed(1)} KiB/min` : 'n/a'];
  });
  // a worker that lived the second half of the load and still grows > 64 KiB per minute is suspect
  // (only workers that lived at least 10 minutes under load are judged)
  const judged = Object.values(workers).filter((w) => Number.isFinite(w.growthKiBPerMin) && (w.loadRss?.length ?? 0) > 1
    && w.loadRss.at(-1)[0] - w.loadRss[0][0] >= 600);
  const grows = judged.filter((w) => w.growthKiBPerMin > 64);

  const D = R.drain ?? {};
  const S0 = R.atStop?.db0 ?? {};
  const S1 = D.end?.db0 ?? {};
  const dbs = [['A (db 0)', R.atStop?.db0], ['B (db 1)', R.atStop?.db1]].filter(([, x]) => x);
  const ttlRows = dbs.flatMap(([db, x]) => Object.entries(x.byPrefix ?? {}).map(([p, e]) => [db, `\`${p}:\``, f0(e.n), e.noTtl ? `**${e.noTtl}**` : '0',
    dur(e.maxPttl), e.bound !== null ? dur(e.bound) : 'unknown prefix', verdict(e.withinBound && !e.noTtl)]));
  const ttlOk = dbs.length ? dbs.every(([, x]) => Object.values(x.byPrefix ?? {}).every((e) => e.withinBound && !e.noTtl)) : undefined;
  const noTtlAtStop = dbs.reduce((n, [, x]) => n + (x.noTtl ?? 0), 0);
  const keysAtStop = dbs.reduce((n, [, x]) => n + (x.total ?? 0), 0);
  const baselineOk = D.longestTtlPassed ? D.baselineReached : (Number.isFinite(S1.total) ? S1.total <= D.projectedAtEnd + 2 : undefined);
  const faultRows = E.windows.map((w, i) => [i + 1, w.kind, mmss(w.start), `${f1(w.end - w.start)} s`, f0(w.ok), f0(w.failed), top(w.errors)]);
  const kinds = Object.keys(E.all.byKind ?? {});
  const methodRows = kinds.map((k) => [k, f0(E.all.byKind[k].ok), f0(E.all.byKind[k].failed), f0(E.outside.byKind?.[k]?.failed ?? 0),
    f1(E.latency?.[k]?.p50), f1(E.latency?.[k]?.p99)]);
  const m0 = load[0]?.metrics ?? {}; const m1 = load.at(-1)?.metrics ?? {};
  const d = (a, b) => (Number.isFinite(a) && Number.isFinite(b) ? b - a : NaN); // counters reset by a reload that changed nothing: none here

  // memory and keys over time: one row a minute (every sample when the run is short)
  const every = samples.length > 45 ? Math.round(60 / Number(P['sample-seconds'] ?? 10)) : 1;
  const timeRows = samples.filter((s, i) => i % every === 0 || i === samples.length - 1).map((s) => {
    const a = Object.entries(s.workers ?? {}).filter(([, w]) => w.node === 'A');
    const b = Object.entries(s.workers ?? {}).filter(([, w]) => w.node === 'B');
    const ks = s.redis?.keyspace ?? {};
    return [mmss(s.t), s.phase, a.map(([pid, w]) => `${pid}: ${mib(w.rss)}`).join(', ') || '—', b.map(([pid, w]) => `${pid}: ${mib(w.rss)}`).join(', ') || '—',
      s.redis?.error ? `down (${s.redis.error.slice(0, 30)})` : `${f0(ks.db0?.keys ?? 0)} (${f0(ks.db0?.expires ?? 0)} with TTL)`,
      ks.db1 ? `${f0(ks.db1.keys)} (${f0(ks.db1.expires)})` : '—', s.projected !== undefined ? f0(s.projected) : '',
      mib((s.redis?.usedMemory ?? NaN) / 1024), `${s.ok}/${s.failed}`, f1(s.p99)];
  });

  const faultsIn = (s) => (R.faults ?? []).some((f) => s.t >= f.start && s.t <= f.windowEnd);
  const md = `# eidhub soak run ${R.started?.slice(0, 16).replace('T', ' ')} UTC

\`bench/soak ${[P.minutes && `--minutes ${P.minutes}`, P['fault-every'] && `--fault-every ${P['fault-every']}`, P.rate && `--rate ${P.rate}`, P['drain-minutes'] && `--drain-minutes ${P['drain-minutes']}`].filter(Boolean).join(' ')}\`
(${R.machine}; files ${name}.{json,md,png}). ${R.error ? `\n\n**The run stopped early:** \`${R.error.split('\n')[0]}\`\n` : ''}

Load: ${R.capacity ? `capacity of the mix measured first: ${f1(R.capacity.rate)} logins/s (${f0(R.capacity.logins)} in ${f1(R.capacity.secs)} s, ${R.capacity.vus} clients, ${R.capacity.errors} errors); ` : ''}soak at **${f1(R.rate)} logins/s** (open loop) for ${f1((R.loadSeconds ?? 0) / 60)} min: ${f0(E.all.ok + E.all.failed)} logins started${E.shed ? `, ${E.shed} not started (too many in flight)` : ''}. Mix: ${Object.keys(E.latency ?? {}).filter((k) => k !== 'all').join(', ')}; each finished login exchanges its code and calls /userinfo. A fault every ${P['fault-every']} min, in turn: Redis killed and started again, nginx reload, Mobile-ID simulator stopped 10 s, national OIDC provider restarted. A fault window lasts from the fault until ${P['fault-grace']} s after recovery; a login counts in the window it was in flight during (the later one where windows overlap).

## Verdicts

${table(['check', 'result', 'verdict'], [
    ['No failed login outside fault windows', `${f0(E.outside.failed)} failed of ${f0(E.outside.ok + E.outside.failed)} (${top(E.outside.errors, 3)})`, verdict(E.outside.failed === 0 && E.outside.ok > 0)],
    ['Every fault recovered (logins succeed again after its window)', E.windows.map((w) => `${w.kind}: ${f0(w.failed)} failed in window`).join('; ') || 'no fault', verdict(E.windows.length > 0 && E.windows.every((w) => !w.error) && E.outside.failed === 0)],
    ['No worker grows steadily (second half of its life under load, > 64 KiB/min; workers that lived ≥ 10 min of it)', !judged.length ? 'no worker lived 10 minutes under load' : grows.length ? grows.map((w) => `${w.node}: ${f1(w.growthKiBPerMin)} KiB/min`).join(', ') : `largest ${f1(Math.max(...judged.map((w) => w.growthKiBPerMin)))} KiB/min of ${judged.length} workers`, verdict(judged.length ? grows.length === 0 : undefined)],
    ['Every key has a TTL within its bound (at the end of the load, both nodes\' databases)', `${f0(noTtlAtStop)} without TTL of ${f0(keysAtStop)}; longest TTL of each prefix below`, verdict(ttlOk)],
    ['No key without TTL at the end', `${f0(D.keysWithoutTtl)}`, verdict(D.keysWithoutTtl === 0)],
    ['No nginx worker died, no nginx alert', Object.entries(R.logs ?? {}).map(([n, l]) => `${n}: ${l.crashes?.length ?? 'n/a'}`).join(', ') || 'n/a',
      verdict(R.logs ? Object.values(R.logs).every((l) => l.crashes && l.crashes.length === 0) : undefined)],
    ['Key count back to its baseline', D.longestTtlPassed
      ? `${f0(S1.total)} keys after ${f1(D.seconds / 60)} min; baseline ${f0(R.baseline)}`
      : `${f0(S0.total)} → ${f0(S1.total)} keys in ${f1(D.seconds / 60)} min (projected from the TTLs: ${f0(D.projectedAtEnd)}); the longest flow TTL (${f1(R.flowTtlMs / 60e3)} min) has not passed: baseline **${f0(R.baseline)}** at ${f1(R.flowTtlMs / 60e3)} min after the load`,
    verdict(baselineOk)],
  ])}

The baseline is the keys that outlive every flow TTL: \`rel:\` (the citizens' own records of "My eidhub", one list per citizen, kept \`my_eidhub.retention_days\` = 1 day, the shortest allowed), so at most one per distinct test citizen, whatever the number of logins${R.baselineB !== undefined ? `; the eIDAS node B (database 1): ${f0(R.atStop?.db1?.total)} keys at stop, baseline ${f0(R.baselineB)}, ${f0(D.end?.db1?.total)} at the end` : ''}.

## Errors per fault window

${table(['#', 'fault', 'at', 'lasted', 'logins ok', 'failed', 'errors (most frequent)'], faultRows)}

Outside the windows: ${f0(E.outside.ok)} ok, ${f0(E.outside.failed)} failed (${top(E.outside.errors)}).
${(R.faults ?? []).map((f, i) => `\n${i + 1}. ${f.kind}: ${f.note ?? f.error ?? ''}`).join('')}

## eidhub's warnings and errors (nginx error log at level notice: eidhub's info lines left out)

${Object.entries(R.logs ?? {}).map(([n, l]) => `Node ${n}: ${Object.keys(l.messages ?? {}).length ? '' : 'none.'}\n\n${Object.keys(l.messages ?? {}).length ? table(['count', 'message (numbers and ids folded)'], Object.entries(l.messages).sort((a, b) => b[1] - a[1]).slice(0, 15).map(([k, v]) => [f0(v), `\`${k.replaceAll('|', '/').replaceAll('`', "'")}\``])) : ''}${l.crashes?.length ? `\n\nDied or alerted:\n\n${l.crashes.map((c) => `    ${c}`).join('\n')}` : ''}`).join('\n\n')}

## Logins by method

${table(['method', 'ok', 'failed', 'failed outside windows', 'p50 ms', 'p99 ms'], methodRows)}

All finished logins (abandoned ones excepted): p50 ${f1(E.latency?.all?.p50)} ms, p99 ${f1(E.latency?.all?.p99)} ms. eidhub's /metrics over the load: requests ${Object.entries(m1.requests ?? {}).map(([k, v]) => `${k} ${f0(d(m0.requests?.[k] ?? 0, v))}`).join(', ')}; logins finished ${Object.entries(m1.finished ?? {}).map(([k, v]) => `${k} ${f0(d(m0.finished?.[k] ?? 0, v))}`).join(', ')}; store errors ${f0(d(m0.storeErrors, m1.storeErrors))}; rate limited ${f0(d(m0.rateLimited, m1.rateLimited))}.

## Memory: each nginx worker (RSS, MiB)

${table(['node, pid', 'first seen', 'last seen', 'first', 'max', 'last', 'growth, 2nd half of its load'], memRows)}

Workers change at a reload: the old ones leave, new pids come. A: the broker under test (2 workers); B: the eIDAS node.

## Over time

${table(['t', 'phase', 'A workers RSS (pid: MiB)', 'B', 'Redis db0 keys', 'db1 (B)', 'projected', 'Redis MiB', 'logins ok/failed', 'p99 ms'], timeRows)}

${samples.some(faultsIn) ? 'Samples inside fault windows: see the fault times above. ' : ''}"projected": the keys the scan at the end of the load leaves at that time, from each key's TTL. Redis's DBSIZE lags behind it: it counts keys that have expired until Redis's active expiry reclaims them; the scan at the end of the drain (SCAN reclaims the expired keys it visits) gives the exact count.

## Store keys at the end of the load, by prefix

${table(['database', 'prefix', 'keys', 'without TTL', 'longest TTL left', 'bound (from the code or configuration)', ''], ttlRows)}

The bounds:

${Object.entries(R.ttl ?? {}).map(([p, t]) => `- \`${p}:\` ${dur(t.ms)}: ${t.why}`).join('\n')}
`;
  const dat = ['# t_min ok_per_s failed_per_s a_rss_mib b_rss_mib keys_db0 keys_db1 projected redis_mib p99_ms'];
  const secs = Number(P['sample-seconds'] ?? 10);
  for (const s of samples) {
    const sum = (node) => Object.values(s.workers ?? {}).filter((w) => w.node === node).reduce((x, w) => x + (w.rss ?? 0), 0) / 1024;
    const ks = s.redis?.keyspace ?? {};
    const nan = (x) => (Number.isFinite(x) ? x : 'NaN');
    dat.push([(s.t / 60).toFixed(3), (s.ok / secs).toFixed(2), (s.failed / secs).toFixed(2), sum('A').toFixed(2), sum('B').toFixed(2),
      s.redis?.error ? 'NaN' : (ks.db0?.keys ?? 0), s.redis?.error ? 'NaN' : (ks.db1?.keys ?? 0), nan(s.projected),
      nan((s.redis?.usedMemory ?? NaN) / 2 ** 20), nan(s.p99)].join(' '));
  }
  const faultDat = (R.faults ?? []).map((f) => `${(f.start / 60).toFixed(3)} ${(f.windowEnd / 60).toFixed(3)} "${f.kind}"`).join('\n') + '\n';
  return { md, dat: dat.join('\n') + '\n', faultDat };
}

if (process.argv[1] === import.meta.filename) {
  const file = process.argv[2];
  const R = JSON.parse(fs.readFileSync(file, 'utf8'));
  const base = file.replace(/\.json$/, '');
  const { md, dat, faultDat } = report(R, base.split('/').at(-1));
  fs.writeFileSync(`${base}.md`, md); fs.writeFileSync(`${base}.dat`, dat); fs.writeFileSync(`${base}.faults.dat`, faultDat);
}
