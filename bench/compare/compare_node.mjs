// Side-by-side scenarios for Node: entra-token, @azure/identity and @azure/msal-node, each with
// its default settings, each measurement in its own process, against one emulator started here.
// Started by bench/compare/run with NODE_EXTRA_CA_CERTS set (Node reads it only at start).
//
//   node bench/compare/compare_node.mjs --out target/compare/node.json
import { spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const binary = process.env.ENTRA_TOKEN_BIN ?? path.join(process.env.CARGO_TARGET_DIR ?? path.join(root, 'target'), 'debug', 'entra-token');
const TENANT = '11111111-1111-4111-8111-111111111111';
const CLIENT_ID = '33333333-3333-4333-8333-333333333333';
const SECRET = 'emulator-weather-client-secret';
const SCOPE = 'api://weather/.default';
const LIBRARIES = ['entra-token', '@azure/identity', '@azure/msal-node'];
const ENTRA = path.join(root, 'bindings-node', 'lib', 'index.js');
const PEERS = path.join(root, 'tests', 'interop', 'node', 'node_modules');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : fallback;
};

const child = spawn(binary, ['emulate', '--https', '--permissive', '--tls-dir', process.env.ENTRA_TOKEN_TLS_DIR], { stdio: ['ignore', 'pipe', 'inherit'] });
const env = {};
for await (const line of createInterface({ input: child.stdout })) {
  if (line === '# ready') break;
  const m = /^export ([A-Z_]+)=(.*)$/.exec(line);
  if (m) env[m[1]] = m[2];
}
const URL_ = env.AZURE_AUTHORITY_HOST;
const admin = async (method, p, body) => {
  const r = await fetch(`${URL_}/_emulator/${p}`, { method, headers: { 'content-type': 'application/json' }, body: body ? JSON.stringify(body) : undefined });
  const text = await r.text();
  return text ? JSON.parse(text) : null;
};
const reset = async () => {
  await admin('DELETE', 'requests');
  await admin('DELETE', 'faults');
};
const tokenRequests = async () => (await admin('GET', 'requests')).filter((r) => r.path.endsWith('/token') || r.path.includes('/metadata/identity')).length;

// The code each library runs, as its users would write it.
function setup(library, mi = false) {
  const head = `const TENANT=${JSON.stringify(TENANT)}, CLIENT_ID=${JSON.stringify(CLIENT_ID)}, SECRET=${JSON.stringify(SECRET)}, URL_=${JSON.stringify(URL_)};\n`;
  const peer = (name) => `require(${JSON.stringify(path.join(PEERS, name))})`;
  if (library === 'entra-token') {
    return head + `const e = require(${JSON.stringify(ENTRA)});\n` + (mi ? 'const c = new e.ManagedIdentityCredential();\n' : 'const c = new e.ClientSecretCredential(TENANT, CLIENT_ID, SECRET, { authorityHost: URL_ });\n') + 'const get = async (s) => (await c.getToken(s)).token;\n';
  }
  if (library === '@azure/identity') {
    return head + `const id = ${peer('@azure/identity')};\n` + (mi ? 'const c = new id.ManagedIdentityCredential();\n' : 'const c = new id.ClientSecretCredential(TENANT, CLIENT_ID, SECRET, { authorityHost: URL_, disableInstanceDiscovery: true });\n') + 'const get = async (s) => (await c.getToken(s)).token;\n';
  }
  return head + `const msal = ${peer('@azure/msal-node')};\n` + (mi
    ? 'const app = new msal.ManagedIdentityApplication({});\nconst get = async (s) => (await app.acquireToken({ resource: s.replace("/.default", "") })).accessToken;\n'
    : 'const app = new msal.ConfidentialClientApplication({ auth: { clientId: CLIENT_ID, clientSecret: SECRET, authority: `${URL_}/${TENANT}`, knownAuthorities: [new URL(URL_).host] } });\nconst get = async (s) => (await app.acquireTokenByClientCredential({ scopes: [s] })).accessToken;\n');
}

function runChild(code, extraEnv, deadlineS) {
  const started = process.hrtime.bigint();
  const r = spawnSync(process.execPath, ['-e', `(async () => { ${code} })().catch((e) => { console.log(JSON.stringify({ outcome: 'crashed: ' + e })); process.exit(0); });`], {
    encoding: 'utf8',
    timeout: deadlineS * 1000,
    env: { ...process.env, ...extraEnv },
  });
  const wall = Number(process.hrtime.bigint() - started) / 1e9;
  if (r.error && r.error.code === 'ETIMEDOUT') return { outcome: `no result within the ${deadlineS} s deadline`, wall_s: deadlineS };
  try {
    return { ...JSON.parse(r.stdout.trim().split('\n').pop()), process_wall_s: wall };
  } catch {
    return { outcome: `crashed: ${(r.stderr || '').trim().split('\n').pop()}`, process_wall_s: wall };
  }
}

const perCall = (calls) => `
  const perCall = async (fn, calls) => { for (let i = 0; i < calls / 10; i++) await fn(); const r = [];
    for (let b = 0; b < 7; b++) { const t = process.hrtime.bigint(); for (let i = 0; i < calls; i++) await fn(); r.push(Number(process.hrtime.bigint() - t) / calls); }
    r.sort((a, b) => a - b); return r[3]; };`;

const results = { runtime: `node ${process.versions.node}`, date: new Date().toISOString().slice(0, 10) };
const only = arg('--only', 'hit,scale,concurrent,cold,faults').split(',');
try {
  if (only.includes('hit')) {
    results.cache_hit = [{ library: 'floor: no-op napi fn returning a resolved Promise', ...runChild(`const n = require(${JSON.stringify(ENTRA)})._native; ${perCall()} console.log(JSON.stringify({ ns: await perCall(() => n.noopResolved(), 200000) }));`, {}, 120) }];
    for (const library of LIBRARIES) {
      const calls = library === 'entra-token' ? 200000 : 5000;
      results.cache_hit.push({ library, ...runChild(`${setup(library)} await get(${JSON.stringify(SCOPE)}); ${perCall()} console.log(JSON.stringify({ ns: await perCall(() => get(${JSON.stringify(SCOPE)}), ${calls}) }));`, {}, 300) });
    }
  }
  if (only.includes('scale')) {
    const sizes = arg('--sizes', '1,1000,10000,100000').split(',').map(Number);
    const budget = Number(arg('--fill-budget', '120'));
    results.cache_scale = [];
    for (const library of LIBRARIES) {
      for (const k of sizes) {
        // Scope strings are built before the RSS baseline and the timed loop, so neither counts them.
        const code = `${setup(library)} const scopes = Array.from({ length: ${k} }, (_, i) => ('api://scale-' + i + '/.default').normalize());
          await get(${JSON.stringify(SCOPE)}); const before = process.memoryUsage().rss; const t0 = Date.now(); let filled = 0;
          for (let i = 0; i < ${k}; i++) { if (Date.now() - t0 > ${budget * 1000}) break; await get(scopes[i]); filled++; }
          const fill_s = (Date.now() - t0) / 1000; const after = process.memoryUsage().rss;
          const n = filled ? 200000 : 0; const order = Array.from({ length: n }, () => Math.floor(Math.random() * filled));
          for (let i = 0; i < 2000 && i < n; i++) await get(scopes[order[i]]);
          // Up to 200,000 hits, stopping after 10 s (some peers take ms per hit).
          let done = 0; const t = process.hrtime.bigint();
          while (done < n && process.hrtime.bigint() - t < 10000000000n) { const end = Math.min(n, done + 1000); for (; done < end; done++) await get(scopes[order[done]]); }
          console.log(JSON.stringify({ k: ${k}, filled, fill_s, hit_ns: Number(process.hrtime.bigint() - t) / Math.max(1, done), rss_growth_kb: Math.round((after - before) / 1024) }));`;
        results.cache_scale.push({ library, ...runChild(code, {}, budget + 180) });
      }
    }
  }
  if (only.includes('concurrent')) {
    results.concurrent_cold = [];
    for (const library of LIBRARIES) {
      await reset();
      await admin('POST', 'faults', { kind: 'delay', ms: 200, path_contains: '/token', times: 0 });
      // Three runs, median wall time (one run on a shared machine can be off by 100 ms).
      const runs = [];
      for (let n = 0; n < 3; n++) {
        await admin('DELETE', 'requests');
        const r = runChild(`${setup(library)} const t = process.hrtime.bigint(); const out = await Promise.allSettled(Array.from({ length: 100 }, () => get(${JSON.stringify(SCOPE)})));
          console.log(JSON.stringify({ wall_s: Number(process.hrtime.bigint() - t) / 1e9, errors: out.filter((o) => o.status === 'rejected').length }));`, {}, 120);
        runs.push({ ...r, requests_at_server: await tokenRequests() });
      }
      await admin('DELETE', 'faults');
      const walls = runs.map((r) => r.wall_s).filter((w) => typeof w === 'number').sort((a, b) => a - b);
      results.concurrent_cold.push({
        library,
        requests_at_server: Math.max(...runs.map((r) => r.requests_at_server)),
        wall_s: walls.length ? walls[Math.floor(walls.length / 2)] : null,
        errors: runs.reduce((sum, r) => sum + (r.errors ?? 1), 0),
        walls_s: walls,
      });
    }
  }
  if (only.includes('cold')) {
    results.cold_process = [];
    for (const [flow, mi] of [['client secret', false], ['managed identity (IMDS)', true]]) {
      for (const library of LIBRARIES) {
        const samples = Array.from({ length: 5 }, () => runChild(`${setup(library, mi)} await get(${JSON.stringify(SCOPE)}); console.log(JSON.stringify({ ok: true }));`, mi ? { AZURE_POD_IDENTITY_AUTHORITY_HOST: URL_ } : {}, 120).process_wall_s).sort((a, b) => a - b);
        results.cold_process.push({ library, flow, ms: samples[2] * 1000 });
      }
    }
  }
  if (only.includes('faults')) {
    const deadline = Number(arg('--fault-deadline', '100'));
    const faults = [
      ['500 twice, then 200', [{ kind: 'status', status: 500, times: 2 }], false],
      ['429 with Retry-After: 1, then 200', [{ kind: 'status', status: 429, retry_after: '1', times: 1 }], false],
      ['malformed JSON', [{ kind: 'malformed', times: 1 }], false],
      ['connection closed mid-answer', [{ kind: 'close', times: 1 }], false],
      ['no answer (hang)', [{ kind: 'hang', times: 0 }], false],
      ['IMDS 410 (upgrade), then 200', [{ kind: 'status', status: 410, times: 3 }], true],
    ];
    results.faults = [];
    for (const [name, list, mi] of faults) {
      for (const library of LIBRARIES) {
        await reset();
        for (const f of list) await admin('POST', 'faults', { ...f, path_contains: mi ? '/metadata/identity' : '/token' });
        const r = runChild(`${setup(library, mi)} const t = Date.now(); let outcome; try { await get(${JSON.stringify(SCOPE)}); outcome = 'token'; } catch (e) { outcome = 'error: ' + (e.name || 'Error'); }
          console.log(JSON.stringify({ outcome, call_s: (Date.now() - t) / 1000 }));`, mi ? { AZURE_POD_IDENTITY_AUTHORITY_HOST: URL_ } : {}, deadline);
        await admin('DELETE', 'faults');
        results.faults.push({ fault: name, library, attempts_at_server: await tokenRequests(), ...r });
      }
    }
  }
} finally {
  child.kill();
}
const out = arg('--out', path.join(root, 'target', 'compare', 'node.json'));
mkdirSync(path.dirname(out), { recursive: true });
// A partial run (--only) updates its scenarios and keeps the others.
const merged = existsSync(out) ? { ...JSON.parse(readFileSync(out, 'utf8')), ...results } : results;
writeFileSync(out, JSON.stringify(merged, null, 1));
console.log(JSON.stringify(results, null, 1));
process.exit(0);
