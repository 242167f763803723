// Node cache-hit and load benchmarks for entra-token, with the floor measured in the same run
// (these machines are shared and noisy: compare ratios, not absolute figures).
//
//   node bench/node/run.mjs [--json out.json]
//
// Needs the addon built (release: `cd bindings-node && npm run build`), the entra-token binary
// (ENTRA_TOKEN_BIN or target/debug/entra-token), and for the peers tests/interop/node's
// node_modules (`npm ci` there). run.mjs starts this file with the emulator's CA trusted.
import { spawn, execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const binary = process.env.ENTRA_TOKEN_BIN ?? path.join(process.env.CARGO_TARGET_DIR ?? path.join(root, 'target'), 'debug', 'entra-token');
const TENANT = '11111111-1111-4111-8111-111111111111';
const CLIENT_ID = '33333333-3333-4333-8333-333333333333';
const SECRET = 'emulator-weather-client-secret';
const SCOPE = 'api://weather/.default';

async function nsPerCall(fn, calls = 100_000, batches = 7) {
  for (let i = 0; i < calls / 10; i++) await fn();
  const results = [];
  for (let b = 0; b < batches; b++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < calls; i++) await fn();
    results.push(Number(process.hrtime.bigint() - start) / calls);
  }
  results.sort((a, b) => a - b);
  return results[Math.floor(results.length / 2)];
}

function loadMs(expression, runs = 7) {
  const code = `const t = process.hrtime.bigint(); ${expression}; console.log(Number(process.hrtime.bigint() - t) / 1e6)`;
  const values = Array.from({ length: runs }, () => Number(execFileSync(process.execPath, ['-e', code], { encoding: 'utf8' })));
  values.sort((a, b) => a - b);
  return values[Math.floor(values.length / 2)];
}

const child = spawn(binary, ['emulate', '--https', '--tls-dir', process.env.ENTRA_TOKEN_TLS_DIR], { stdio: ['ignore', 'pipe', 'inherit'] });
const env = {};
for await (const line of createInterface({ input: child.stdout })) {
  if (line === '# ready') break;
  const m = /^export ([A-Z_]+)=(.*)$/.exec(line);
  if (m) env[m[1]] = m[2];
}
const url = env.AZURE_AUTHORITY_HOST;
const results = { machine: `${os.arch()} ${os.cpus().length} cpus`, node: process.versions.node, date: new Date().toISOString().slice(0, 10), cache_hit: [], load: [] };
try {
  const entraPath = path.join(root, 'bindings-node', 'lib', 'index.js');
  const entra = createRequire(import.meta.url)(entraPath);
  const noopResolved = entra._native.noopResolved;
  const floor = await nsPerCall(() => noopResolved());
  const credential = new entra.ClientSecretCredential(TENANT, CLIENT_ID, SECRET, { authorityHost: url });
  await credential.getToken(SCOPE);
  const hit = await nsPerCall(() => credential.getToken(SCOPE));
  results.cache_hit.push({ what: 'no-op napi function returning a resolved Promise (floor)', ns: floor });
  results.cache_hit.push({ what: 'entra-token getToken, cache hit', ns: hit, ratio_to_floor: hit / floor });
  const peers = createRequire(path.join(root, 'tests', 'interop', 'node', 'package.json'));
  try {
    const { ClientSecretCredential } = peers('@azure/identity');
    const azure = new ClientSecretCredential(TENANT, CLIENT_ID, SECRET, { authorityHost: url, disableInstanceDiscovery: true });
    await azure.getToken(SCOPE);
    results.cache_hit.push({ what: '@azure/identity getToken, cache hit', ns: await nsPerCall(() => azure.getToken(SCOPE), 5_000) });
  } catch (e) {
    console.error(`@azure/identity skipped: ${e.message}`);
  }
  try {
    const { ConfidentialClientApplication } = peers('@azure/msal-node');
    const app = new ConfidentialClientApplication({ auth: { clientId: CLIENT_ID, clientSecret: SECRET, authority: `${url}/${TENANT}`, knownAuthorities: [new URL(url).host] } });
    await app.acquireTokenByClientCredential({ scopes: [SCOPE] });
    results.cache_hit.push({ what: '@azure/msal-node acquireTokenByClientCredential, cache hit', ns: await nsPerCall(() => app.acquireTokenByClientCredential({ scopes: [SCOPE] }), 5_000) });
  } catch (e) {
    console.error(`@azure/msal-node skipped: ${e.message}`);
  }
  results.load.push({ module: '(empty script floor)', ms: loadMs('0') });
  results.load.push({ module: 'entra-token', ms: loadMs(`require(${JSON.stringify(entraPath)})`) });
  for (const name of ['@azure/identity', '@azure/msal-node']) {
    results.load.push({ module: name, ms: loadMs(`require(${JSON.stringify(peers.resolve(name))})`) });
  }
} finally {
  child.kill();
}
for (const r of results.cache_hit) console.log(`${r.what.padEnd(60)} ${r.ns.toFixed(0).padStart(8)} ns${r.ratio_to_floor ? `  (${r.ratio_to_floor.toFixed(1)}x floor)` : ''}`);
for (const r of results.load) console.log(`load ${r.module.padEnd(55)} ${r.ms.toFixed(1).padStart(8)} ms`);
const out = process.argv.indexOf('--json');
if (out > 0) writeFileSync(process.argv[out + 1], JSON.stringify(results, null, 1));
process.exit(0);
