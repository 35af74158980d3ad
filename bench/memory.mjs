// The million-login memory run of issue 7: worker RSS before and after a
// million full brokered logins (the login of bench/bench.mjs: Redis, 2
// workers, 32 clients, the Mobile-ID simulator answering at once), sampled
// after every step, so that growth can be told from settling. It runs
// bench/login-steps.mjs (which does the logins and prints each step) and
// turns its lines into bench/results/memory-<date>.{md,png,log}.
//
//   EH_BUILD=/tmp/build node bench/memory.mjs --logins 1000000 --step 50000
//   (bench/memory is the same with the build and the plot taken care of)
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

const { values: opt } = parseArgs({ options: {
  logins: { type: 'string', default: '1000000' }, step: { type: 'string', default: '50000' },
  vus: { type: 'string', default: '32' }, out: { type: 'string', default: path.join(import.meta.dirname, 'results') },
} });
const logins = Number(opt.logins); const step = Number(opt.step);
if (!(logins > 0 && step > 0)) throw new Error('--logins and --step must be positive numbers');
const steps = []; for (let n = 0; n < logins; n += step) steps.push(Math.min(step, logins - n));

const stamp = new Date().toISOString().slice(0, 16).replace(/:/g, '');
const base = path.join(opt.out, `memory-${stamp}`);
fs.mkdirSync(opt.out, { recursive: true });
const logFile = fs.createWriteStream(`${base}.log`);
const started = new Date();

// what login-steps.mjs prints, line by line
const samples = []; // { logins, workers: { pid: { rss, anon } } }
const runs = [];    // { done, secs, rate, errors, cpu }
let pending = '';
function line(l) {
  let m;
  if ((m = l.match(/(?:after (\d+) logins|after (\d+) warm-up logins): (.*);/))) {
    const workers = Object.fromEntries([...m[3].matchAll(/worker (\d+) rss (\d+) anon (\d+) KiB/g)]
      .map((w) => [w[1], { rss: Number(w[2]), anon: Number(w[3]) }]));
    samples.push({ logins: Number(m[1] ?? m[2]), workers });
  } else if ((m = l.match(/(\d+) logins in ([\d.]+) s = ([\d.]+)\/s, (\d+) errors; CPU ms per login: (.*)/))) {
    runs.push({ done: Number(m[1]), secs: Number(m[2]), rate: Number(m[3]), errors: Number(m[4]), cpu: m[5] });
  }
}

const child = spawn(process.execPath, [path.join(import.meta.dirname, 'login-steps.mjs'), '--steps', steps.join(','), '--vus', opt.vus,
  '--settle', 'trim'],
  { stdio: ['ignore', 'inherit', 'pipe'], env: process.env });
child.stderr.on('data', (d) => {
  process.stderr.write(d); logFile.write(d);
  pending += d.toString();
  const lines = pending.split('\n'); pending = lines.pop();
  lines.forEach(line);
});
const status = await new Promise((resolve) => child.on('exit', (code, sig) => resolve(code ?? sig)));
if (pending) line(pending);
logFile.end();

const kib = (n) => n.toLocaleString('en');
const first = samples[0]; const last = samples.at(-1);
const pids = first ? Object.keys(first.workers) : [];
const total = (s) => pids.reduce((t, p) => t + (s.workers[p]?.rss ?? 0), 0);
const done = runs.reduce((t, r) => t + r.done, 0);
const errors = runs.reduce((t, r) => t + r.errors, 0);
// growth over the second half of the run: settling or a leak?
const half = samples.filter((s) => s.logins >= (last?.logins ?? 0) / 2);
const secondHalf = half.length > 1 ? total(half.at(-1)) - total(half[0]) : NaN;
const growth = first && last ? total(last) - total(first) : NaN;
const perWorker = pids.map((p) => (last.workers[p]?.rss ?? 0) - first.workers[p].rss);
const maxWorker = perWorker.length ? Math.max(...perWorker) : NaN;

const md = [];
md.push(`# eidhub memory run ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC`, '');
md.push(`\`bench/memory --logins ${logins} --step ${step}\` (${os.cpus().length} × ${os.cpus()[0].model}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.release()}; `
  + `files ${path.basename(base)}.{md,png,log}). The login of \`bench/login-steps.mjs\` (authorize → login page → Mobile-ID form → start → wait → status → finish → token → userinfo; `
  + `Redis store, 2 workers, ${opt.vus} clients on keep-alive connections, the Mobile-ID simulator answering at once); worker RSS read from /proc after 200 warm-up logins and after every ${kib(step)} logins, each time once the workers are idle and each has trimmed its heaps since the step (the module gives malloc's free memory back every 10 s; the bench waits for \`eidhub_heap_trims_total\` in /metrics to grow by the number of workers).`, '');
md.push('| check | result | target | verdict |', '|---|---|---|---|');
md.push(`| Logins | ${kib(done)} done, ${kib(errors)} failed, ${runs.length ? (done / runs.reduce((t, r) => t + r.secs, 0)).toFixed(1) : '—'} logins/s on average | ${kib(logins)} | ${done >= logins && errors === 0 ? '**pass**' : '**FAIL**'} |`);
md.push(`| Worker RSS growth, each worker, from the warm-up to the end | ${perWorker.map((g) => `${g >= 0 ? '+' : ''}${kib(g)} KiB`).join(', ')} | ≤ 5 MiB (5,120 KiB) | ${maxWorker <= 5120 ? '**pass**' : '**FAIL**'} |`);
md.push(`| Both workers together | ${first ? `${kib(total(first))} → ${kib(total(last))} KiB (${growth >= 0 ? '+' : ''}${kib(growth)})` : '—'} |  |  |`);
md.push(`| Growth over the second half of the run (both workers) | ${Number.isNaN(secondHalf) ? '—' : `${secondHalf >= 0 ? '+' : ''}${kib(secondHalf)} KiB`} | settling, not growing |  |`, '');
md.push('| logins | ' + pids.map((p) => `worker ${p} RSS KiB | anon KiB`).join(' | ') + ' | step rate (logins/s) | errors |');
md.push('|---|' + pids.map(() => '---|---').join('|') + '|---|---|');
samples.forEach((s, i) => md.push(`| ${kib(s.logins)} | ${pids.map((p) => `${kib(s.workers[p]?.rss ?? 0)} | ${kib(s.workers[p]?.anon ?? 0)}`).join(' | ')} | ${i ? runs[i - 1]?.rate.toFixed(1) ?? '' : 'warm-up'} | ${i ? runs[i - 1]?.errors ?? '' : ''} |`));
md.push('', `CPU ms per login in the last step: ${runs.at(-1)?.cpu ?? '—'}.`, `Run ${started.toISOString()} – ${new Date().toISOString()}; login-steps exit status ${status}.`);
fs.writeFileSync(`${base}.md`, md.join('\n') + '\n');

const dat = samples.map((s) => [s.logins, ...pids.map((p) => s.workers[p]?.rss ?? 0)].join(' ')).join('\n');
fs.writeFileSync(`${base}.dat`, dat + '\n');
const plot = `set terminal pngcairo size 900,500; set output '${base}.png'; set key left top; set grid;`
  + ` set xlabel 'logins'; set ylabel 'worker RSS (KiB)'; set yrange [0:*]; set format x '%.0s%c';`
  + ` plot ${pids.map((p, i) => `'${base}.dat' using 1:${i + 2} with linespoints title 'worker ${p}'`).join(', ')}`;
const g = spawnSync('gnuplot', ['-e', plot], { encoding: 'utf8' });
if (g.status !== 0) process.stderr.write(`memory: the plot failed: ${g.stderr}\n`);
fs.rmSync(`${base}.dat`, { force: true });
process.stdout.write(fs.readFileSync(`${base}.md`, 'utf8'));
process.stderr.write(`memory: wrote ${base}.md, ${base}.png and ${base}.log\n`);
process.exit(status === 0 && done >= logins && errors === 0 && maxWorker <= 5120 ? 0 : 1);
