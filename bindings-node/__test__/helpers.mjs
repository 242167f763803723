// Starts `entra-token emulate` (plain http on loopback, which the core accepts for loopback
// hosts) for one test file, and resets state between tests.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
export const fixtures = path.join(root, 'tests', 'fixtures');
export const IDENTITY_HEADER = 'node-tests-identity-header';
export const TENANT = '11111111-1111-4111-8111-111111111111';
export const WEATHER_CLIENT_ID = '33333333-3333-4333-8333-333333333333';
export const WEATHER_CLIENT_SECRET = 'emulator-weather-client-secret';
export const CERT_CLIENT_ID = '44444444-4444-4444-8444-444444444444';
export const NO_ROLE_CLIENT_ID = '55555555-5555-4555-8555-555555555555';
export const NO_ROLE_CLIENT_SECRET = 'emulator-no-role-secret';
export const USER_ASSIGNED_CLIENT_ID = '66666666-6666-4666-8666-666666666666';
export const WORKLOAD_CLIENT_ID = '88888888-8888-4888-8888-888888888888';
export const WEATHER_SCOPE = 'api://weather/.default';
const MI_VARS = ['AZURE_POD_IDENTITY_AUTHORITY_HOST', 'IDENTITY_ENDPOINT', 'IDENTITY_HEADER', 'MSI_ENDPOINT', 'MSI_SECRET', 'IMDS_ENDPOINT', 'IDENTITY_SERVER_THUMBPRINT'];

function binary() {
  if (process.env.ENTRA_TOKEN_BIN) return process.env.ENTRA_TOKEN_BIN;
  return path.join(process.env.CARGO_TARGET_DIR ?? path.join(root, 'target'), 'debug', 'entra-token');
}

/** `https: true` serves with the CA run.mjs made (trusted by Node and the core in this process). */
export async function startEmulator(extraArgs = [], { https = false } = {}) {
  if (https) extraArgs = ['--https', '--tls-dir', process.env.ENTRA_TOKEN_TLS_DIR, ...extraArgs];
  const child = spawn(binary(), ['emulate', '--identity-header', IDENTITY_HEADER, ...extraArgs], { stdio: ['ignore', 'pipe', 'inherit'] });
  const env = {};
  for await (const line of createInterface({ input: child.stdout })) {
    if (line === '# ready') break;
    const m = /^export ([A-Z_]+)=(.*)$/.exec(line);
    if (m) env[m[1]] = m[2];
  }
  const url = env.AZURE_AUTHORITY_HOST;
  if (!url) throw new Error('entra-token emulate did not start');
  const admin = async (method, p, body) => {
    const r = await fetch(`${url}/_emulator/${p}`, { method, headers: body ? { 'content-type': 'application/json' } : {}, body: body ? JSON.stringify(body) : undefined });
    if (!r.ok) throw new Error(`admin ${method} ${p}: ${r.status}`);
    return r;
  };
  return {
    url,
    tenantId: TENANT,
    weatherUrl: `${url}/weather/forecast`,
    admin,
    async tokenRequests() {
      return (await (await admin('GET', 'requests')).json()).filter((r) => r.path.endsWith('/oauth2/v2.0/token'));
    },
    async addFault(fault) {
      await admin('POST', 'faults', fault);
    },
    async reset() {
      await admin('DELETE', 'requests');
      await admin('DELETE', 'faults');
      await admin('DELETE', 'weather/claims-challenge');
      for (const name of MI_VARS) delete process.env[name];
    },
    async workloadToken(body = {}) {
      return (await (await admin('POST', 'workload-token', body)).json()).token;
    },
    callWeather(token) {
      return fetch(`${url}/weather/forecast`, { headers: { authorization: `Bearer ${token}` } });
    },
    stop() {
      child.kill();
    },
  };
}

export function claimsOf(jwt) {
  return JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString());
}

export function tempFile(text) {
  const dir = mkdtempSync(path.join(tmpdir(), 'entra-token-node-'));
  const file = path.join(dir, 'token');
  writeFileSync(file, text);
  return file;
}
