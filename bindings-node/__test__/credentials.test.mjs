// Every credential against the emulator; the cache's single flight; the event loop staying
// free; errors with their fields; abort; redaction; ESM and CommonJS.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { inspect } from 'node:util';
import * as entra from '../lib/index.mjs';
import {
  startEmulator, claimsOf, tempFile, fixtures, IDENTITY_HEADER, WEATHER_CLIENT_ID, WEATHER_CLIENT_SECRET, CERT_CLIENT_ID,
  USER_ASSIGNED_CLIENT_ID, WORKLOAD_CLIENT_ID, WEATHER_SCOPE,
} from './helpers.mjs';

let emulator;
before(async () => {
  emulator = await startEmulator();
});
after(() => emulator?.stop());
beforeEach(async () => {
  await emulator.reset();
  entra.clearCache();
});

const secretCredential = () => new entra.ClientSecretCredential(emulator.tenantId, WEATHER_CLIENT_ID, WEATHER_CLIENT_SECRET, { authorityHost: emulator.url });

test('client secret, in @azure/core-auth shape', async () => {
  const token = await secretCredential().getToken(WEATHER_SCOPE);
  assert.deepEqual(claimsOf(token.token).roles, ['Weather.Read']);
  assert.ok(token.expiresOnTimestamp > Date.now() + 3_000_000);
  assert.equal(token.tokenType, 'Bearer');
  assert.equal((await emulator.callWeather(token.token)).status, 200);
  const again = await secretCredential().getToken([WEATHER_SCOPE]);
  assert.equal(again.token, token.token, 'a credential built per request hits the process-wide cache');
  assert.equal((await emulator.tokenRequests()).length, 1);
});

test('client certificate: path, PEM text, PFX Buffer with password', async () => {
  const options = { authorityHost: emulator.url };
  const combined = path.join(fixtures, 'cert-a-combined.pem');
  const credentials = [
    new entra.ClientCertificateCredential(emulator.tenantId, CERT_CLIENT_ID, combined, options),
    new entra.ClientCertificateCredential(emulator.tenantId, CERT_CLIENT_ID, { certificate: readFileSync(combined, 'utf8') }, options),
    new entra.ClientCertificateCredential(
      emulator.tenantId, CERT_CLIENT_ID, { certificate: readFileSync(path.join(fixtures, 'cert-a-modern.pfx')), certificatePassword: 'fixture-pw' }, options,
    ),
  ];
  for (const credential of credentials) {
    entra.clearCache();
    const token = await credential.getToken(WEATHER_SCOPE);
    assert.equal(claimsOf(token.token).appidacr, '2');
  }
});

test('client assertion from an async callback', async () => {
  let calls = 0;
  const credential = new entra.ClientAssertionCredential(emulator.tenantId, WORKLOAD_CLIENT_ID, async () => {
    calls += 1;
    return emulator.workloadToken();
  }, { authorityHost: emulator.url });
  assert.equal(claimsOf((await credential.getToken(WEATHER_SCOPE)).token).appid, WORKLOAD_CLIENT_ID);
  assert.equal(calls, 1);
});

test('a failing assertion callback rejects with AssertionCallbackError', async () => {
  const credential = new entra.ClientAssertionCredential(emulator.tenantId, WORKLOAD_CLIENT_ID, async () => {
    throw new Error('the vault is sealed');
  }, { authorityHost: emulator.url });
  await assert.rejects(credential.getToken(WEATHER_SCOPE), (e) => e instanceof entra.AssertionCallbackError && /the vault is sealed/.test(e.message));
});

for (const host of ['imds', 'app_service']) {
  test(`managed identity on ${host}, system- and user-assigned`, async () => {
    if (host === 'imds') process.env.AZURE_POD_IDENTITY_AUTHORITY_HOST = emulator.url;
    else Object.assign(process.env, { IDENTITY_ENDPOINT: `${emulator.url}/msi/token`, IDENTITY_HEADER });
    const system = new entra.ManagedIdentityCredential();
    assert.equal(system.source().kind, host);
    assert.equal((await emulator.callWeather((await system.getToken(WEATHER_SCOPE)).token)).status, 200);
    const user = new entra.ManagedIdentityCredential({ clientId: USER_ASSIGNED_CLIENT_ID });
    assert.equal(claimsOf((await user.getToken(WEATHER_SCOPE)).token).appid, USER_ASSIGNED_CLIENT_ID);
  });
}

test('App Service 2025-03-30: a claims request with the rejected token gets a fresh one', async () => {
  const { createHash } = await import('node:crypto');
  Object.assign(process.env, { IDENTITY_ENDPOINT: `${emulator.url}/msi/token`, IDENTITY_HEADER });
  const credential = new entra.ManagedIdentityCredential({ appServiceApiVersion: '2025-03-30' });
  const first = await credential.getToken(WEATHER_SCOPE);
  const again = await credential.getToken(WEATHER_SCOPE, { claims: '{"access_token":{"nbf":{"essential":true,"value":"1"}}}', rejectedToken: first.token });
  const sent = (await (await emulator.admin('GET', 'requests')).json()).filter((r) => r.path === '/msi/token').map((r) => Object.fromEntries(r.query));
  assert.deepEqual(sent.map((q) => q['api-version']), ['2025-03-30', '2025-03-30']);
  assert.equal(sent[1].token_sha256_to_refresh, createHash('sha256').update(first.token).digest('hex'));
  assert.notEqual(again.token, first.token, 'the host minted a new token');
  assert.equal((await credential.getToken(WEATHER_SCOPE)).token, again.token, 'and it replaced the cached one');
  assert.throws(() => new entra.ManagedIdentityCredential({ appServiceApiVersion: '2024-01-01' }), (e) => e instanceof entra.ConfigurationError && /is not 2019-08-01 or 2025-03-30/.test(e.message));
});

test('workload identity from the environment', async () => {
  Object.assign(process.env, {
    AZURE_AUTHORITY_HOST: emulator.url,
    AZURE_TENANT_ID: emulator.tenantId,
    AZURE_CLIENT_ID: WORKLOAD_CLIENT_ID,
    AZURE_FEDERATED_TOKEN_FILE: tempFile(await emulator.workloadToken()),
  });
  try {
    const token = await new entra.WorkloadIdentityCredential().getToken(WEATHER_SCOPE);
    assert.equal(claimsOf(token.token).appid, WORKLOAD_CLIENT_ID);
  } finally {
    for (const k of ['AZURE_AUTHORITY_HOST', 'AZURE_TENANT_ID', 'AZURE_CLIENT_ID', 'AZURE_FEDERATED_TOKEN_FILE']) delete process.env[k];
  }
});

test('500 concurrent getToken calls on a cold cache make one request', async () => {
  await emulator.addFault({ kind: 'delay', ms: 300, path_contains: '/oauth2/', times: 1 });
  const credential = secretCredential();
  const tokens = await Promise.all(Array.from({ length: 500 }, () => credential.getToken(WEATHER_SCOPE)));
  assert.equal(new Set(tokens.map((t) => t.token)).size, 1);
  assert.equal((await emulator.tokenRequests()).length, 1);
});

test('the event loop keeps ticking while a slow acquisition is in flight', async () => {
  await emulator.addFault({ kind: 'delay', ms: 800, path_contains: '/oauth2/', times: 1 });
  const started = Date.now();
  const pending = secretCredential().getToken(WEATHER_SCOPE);
  const timerFiredAfter = await new Promise((resolve) => setTimeout(() => resolve(Date.now() - started), 50));
  assert.ok(timerFiredAfter < 400, `a 50 ms timer fired after ${timerFiredAfter} ms: the loop was blocked`);
  await pending;
  assert.ok(Date.now() - started >= 700, 'the acquisition really was slow');
});

test('an abort signal stops the wait', async () => {
  await emulator.addFault({ kind: 'delay', ms: 3000, path_contains: '/oauth2/', times: 1 });
  const controller = new AbortController();
  const started = Date.now();
  setTimeout(() => controller.abort(), 50);
  await assert.rejects(secretCredential().getToken(WEATHER_SCOPE, { abortSignal: controller.signal }), (e) => e.name === 'AbortError');
  assert.ok(Date.now() - started < 1500);
  const already = new AbortController();
  already.abort();
  await assert.rejects(secretCredential().getToken('https://vault.azure.net/.default', { abortSignal: already.signal }), (e) => e.name === 'AbortError');
});

test('a wrong secret rejects with AuthenticationError and its fields', async () => {
  const credential = new entra.ClientSecretCredential(emulator.tenantId, WEATHER_CLIENT_ID, 'not-the-secret', { authorityHost: emulator.url });
  await assert.rejects(credential.getToken(WEATHER_SCOPE), (e) => {
    assert.ok(e instanceof entra.AuthenticationError && e instanceof entra.EntraTokenError && e instanceof Error);
    assert.equal(e.name, 'AuthenticationError');
    assert.deepEqual([e.code, e.status, e.aadstsCode, e.oauthError, e.retryable], ['authentication_failed', 401, 7000215, 'invalid_client', false]);
    assert.ok(e.correlationId && e.requestId);
    assert.ok(!e.message.includes('not-the-secret'));
    return true;
  });
});

test('errors: malformed answer, configuration, unavailable, transport', async () => {
  await emulator.addFault({ kind: 'malformed', path_contains: '/oauth2/', times: 1 });
  // Another scope: the aborted test's request may still be in flight for the weather scope.
  await assert.rejects(secretCredential().getToken('https://storage.azure.com/.default'), (e) => e instanceof entra.InvalidResponseError && e.status === 200);
  assert.throws(() => new entra.ClientSecretCredential(emulator.tenantId, WEATHER_CLIENT_ID, ''), (e) => e instanceof entra.ConfigurationError && e.code === 'configuration');
  assert.throws(
    () => new entra.WorkloadIdentityCredential({ tenantId: emulator.tenantId, clientId: WORKLOAD_CLIENT_ID, tokenFilePath: '/nonexistent/token' }),
    (e) => e.name === 'CredentialUnavailableError' && /nonexistent/.test(e.message),
  );
  const unreachable = new entra.ClientSecretCredential(emulator.tenantId, WEATHER_CLIENT_ID, 's', { authorityHost: 'http://127.0.0.1:9' });
  await assert.rejects(unreachable.getToken(WEATHER_SCOPE), (e) => e instanceof entra.TransportError && e.retryable === true);
});

test('tokens and credentials never show secrets in inspect or JSON', async () => {
  const credential = secretCredential();
  const token = await credential.getToken(WEATHER_SCOPE);
  for (const text of [inspect(token), JSON.stringify(token), inspect(credential), JSON.stringify(credential), inspect({ nested: token })]) {
    assert.ok(!text.includes(token.token), text);
    assert.ok(!text.includes(WEATHER_CLIENT_SECRET), text);
  }
  assert.match(JSON.stringify(token), /\[redacted\]/);
});

test('CommonJS and ESM give the same classes', () => {
  const require = createRequire(import.meta.url);
  const cjs = require('../lib/index.js');
  assert.equal(cjs.ClientSecretCredential, entra.ClientSecretCredential);
  assert.equal(typeof cjs.createAuthenticatedFetch, 'function');
});

test('region auto-detection asks IMDS where the VM runs', async () => {
  // The emulator is an IP host, where regional endpoints do not apply; what shows here is that
  // the environment reaches the core and IMDS is asked once, as MSAL Python asks it.
  const saved = { ...process.env };
  try {
    Object.assign(process.env, { AZURE_AUTHORITY_HOST: emulator.url, AZURE_REGIONAL_AUTHORITY_NAME: 'tryautodetect', AZURE_POD_IDENTITY_AUTHORITY_HOST: `${emulator.url}//` });
    const credential = new entra.ClientSecretCredential(emulator.tenantId, WEATHER_CLIENT_ID, WEATHER_CLIENT_SECRET);
    assert.equal((await emulator.callWeather((await credential.getToken(WEATHER_SCOPE)).token)).status, 200);
    const asked = (await (await emulator.admin('GET', 'requests')).json()).filter((r) => r.path === '/metadata/instance/compute/location');
    assert.equal(asked.length, 1);
    assert.equal(Object.fromEntries(asked[0].query).format, 'text');
    assert.equal(asked[0].headers.metadata, 'true');
  } finally {
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
  }
});

test('ChainedTokenCredential moves past unavailable links and stops at a failure', async () => {
  const saved = { ...process.env };
  for (const name of ['AZURE_TENANT_ID', 'AZURE_CLIENT_ID', 'AZURE_CLIENT_SECRET', 'AZURE_CLIENT_CERTIFICATE_PATH']) delete process.env[name];
  try {
    const secret = secretCredential();
    const chain = new entra.ChainedTokenCredential(new entra.EnvironmentCredential(), secret);
    assert.deepEqual(chain.links(), ['EnvironmentCredential', 'ClientSecretCredential']);
    const token = await chain.getToken(WEATHER_SCOPE);
    assert.equal((await emulator.callWeather(token.token)).status, 200);
    // The link is the caller's own credential object: one token, one request.
    assert.equal((await secret.getToken(WEATHER_SCOPE)).token, token.token);
    assert.equal((await emulator.tokenRequests()).length, 1);

    const wrong = new entra.ClientSecretCredential(emulator.tenantId, WEATHER_CLIENT_ID, 'wrong-secret', { authorityHost: emulator.url });
    await assert.rejects(new entra.ChainedTokenCredential(wrong, secret).getToken(WEATHER_SCOPE), (e) => e.name === 'AuthenticationError' && e.aadstsCode === 7000215);
    await assert.rejects(new entra.ChainedTokenCredential(new entra.EnvironmentCredential()).getToken(WEATHER_SCOPE), (e) => e.name === 'CredentialUnavailableError' && /EnvironmentCredential/.test(e.message));
    assert.throws(() => new entra.ChainedTokenCredential(), (e) => e.name === 'ConfigurationError' && /at least one credential/.test(e.message));
    assert.throws(() => new entra.ChainedTokenCredential({ getToken: async () => null }), (e) => e instanceof TypeError && /@azure\/identity's ChainedTokenCredential accepts both/.test(e.message));
  } finally {
    process.env = saved;
  }
});
