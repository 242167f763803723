// appsettings.json from Node: the seed switch, the downstream helper, and the local managed
// identity endpoint (`entra-token serve-identity`) serving this package's ManagedIdentityCredential.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as entra from '../lib/index.mjs';
import { startEmulator, claimsOf, fixtures, root, IDENTITY_HEADER, WEATHER_CLIENT_ID, WEATHER_CLIENT_SECRET, USER_ASSIGNED_CLIENT_ID, WEATHER_SCOPE } from './helpers.mjs';

let emulator;
before(async () => {
  emulator = await startEmulator();
});
after(() => emulator?.stop());
beforeEach(async () => {
  await emulator.reset();
  entra.clearCache();
});

function seed(name, secret = WEATHER_CLIENT_SECRET) {
  let text = readFileSync(path.join(fixtures, 'appsettings', name), 'utf8');
  const values = {
    'https://login.microsoftonline.com/': `${emulator.url}/`,
    '<tenant id guid>': emulator.tenantId,
    '<app registration client id guid>': WEATHER_CLIENT_ID,
    '<client secret>': secret,
    'https://weather-api/': `${emulator.url}/weather/`,
    WeatherForecast: 'forecast',
    'api://<downstream api name or app id>/.default': WEATHER_SCOPE,
    '<managed identity client id>': USER_ASSIGNED_CLIENT_ID,
  };
  for (const [k, v] of Object.entries(values)) text = text.split(k).join(v);
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'entra-token-node-config-')), name);
  writeFileSync(file, text);
  return file;
}

test('the seed switch is a configuration change only', async () => {
  process.env.AZURE_POD_IDENTITY_AUTHORITY_HOST = emulator.url;
  const callers = [];
  for (const name of ['appsettings.client-credentials.json', 'appsettings.managed-identity.json']) {
    callers.push((await new entra.DownstreamApis(seed(name)).callJson('DownstreamApi')).caller);
  }
  assert.deepEqual(callers, [WEATHER_CLIENT_ID, USER_ASSIGNED_CLIENT_ID]);
});

test('credentialFromConfig, the claims challenge, and typed errors', async () => {
  const credential = entra.credentialFromConfig(seed('appsettings.client-credentials.json'), 'DownstreamApi');
  assert.equal(claimsOf((await credential.getToken(WEATHER_SCOPE)).token).appid, WEATHER_CLIENT_ID);
  await emulator.admin('POST', 'weather/claims-challenge', { acrs: 'c1' });
  const response = await new entra.DownstreamApis(seed('appsettings.client-credentials.json')).call('DownstreamApi', { path: 'forecast?city=Oslo' });
  assert.equal(response.status, 200);
  assert.match(response.body.toString(), /Oslo/);
  const noRole = seed('appsettings.client-credentials.json');
  writeFileSync(noRole, readFileSync(noRole, 'utf8').replace('"forecast"', '"nowhere"'));
  await assert.rejects(new entra.DownstreamApis(noRole).callJson('DownstreamApi'), (e) => e instanceof entra.DownstreamApiError && e.status === 404);
  assert.throws(() => entra.credentialFromConfig(noRole, 'DownstreamAPX'), (e) => e instanceof entra.ConfigurationError && /did you mean DownstreamApi/.test(e.message));
});

test('serve-identity serves ManagedIdentityCredential from a client secret', async () => {
  const binary = process.env.ENTRA_TOKEN_BIN ?? path.join(process.env.CARGO_TARGET_DIR ?? path.join(root, 'target'), 'debug', 'entra-token');
  const child = spawn(binary, ['serve-identity', '--as', 'app-service', '--config', seed('appsettings.client-credentials.json')], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const env = {};
    for await (const line of createInterface({ input: child.stdout })) {
      if (line === '# ready') break;
      const m = /^export ([A-Z_]+)=(.*)$/.exec(line);
      if (m) env[m[1]] = m[2];
    }
    Object.assign(process.env, { IDENTITY_ENDPOINT: env.IDENTITY_ENDPOINT, IDENTITY_HEADER: env.IDENTITY_HEADER });
    const token = await new entra.ManagedIdentityCredential().getToken(WEATHER_SCOPE);
    assert.equal(claimsOf(token.token).appid, WEATHER_CLIENT_ID);
    assert.equal((await emulator.callWeather(token.token)).status, 200);
  } finally {
    child.kill();
  }
});

test('the chain classes exist with @azure/identity names', async () => {
  process.env.AZURE_TOKEN_CREDENTIALS = 'dev';
  try {
    assert.ok(new entra.DefaultAzureCredential() instanceof Object);
    assert.ok(new entra.AzureCliCredential({ tenantId: emulator.tenantId }));
    // As @azure/identity's: built without error when the environment names no credential, and
    // unavailable when asked (a chain of such credentials moves on to the next).
    const environment = new entra.EnvironmentCredential();
    await assert.rejects(environment.getToken('api://weather/.default'), (e) => e.name === 'CredentialUnavailableError' && /AZURE_TENANT_ID/.test(e.message));
  } finally {
    delete process.env.AZURE_TOKEN_CREDENTIALS;
  }
});

test('DefaultAzureCredential takes @azure/identity options', async () => {
  const saved = { ...process.env };
  try {
    Object.assign(process.env, {
      IDENTITY_ENDPOINT: `${emulator.url}/msi/token`,
      IDENTITY_HEADER: IDENTITY_HEADER,
      AZURE_CLIENT_ID: '99999999-9999-4999-8999-999999999999',
      AZURE_TOKEN_CREDENTIALS: 'ManagedIdentityCredential',
    });
    const credential = new entra.DefaultAzureCredential({ managedIdentityClientId: USER_ASSIGNED_CLIENT_ID, processTimeoutInMs: 5000 });
    assert.deepEqual(credential.links(), ['ManagedIdentityCredential']);
    const token = await credential.getToken(WEATHER_SCOPE);
    assert.equal(claimsOf(token.token).appid, USER_ASSIGNED_CLIENT_ID, 'the option wins over AZURE_CLIENT_ID');

    delete process.env.AZURE_TOKEN_CREDENTIALS;
    assert.throws(
      () => new entra.DefaultAzureCredential({ requiredEnvVars: 'AZURE_TOKEN_CREDENTIALS' }),
      (e) => e instanceof entra.ConfigurationError && /required environment variables are not set: AZURE_TOKEN_CREDENTIALS/.test(e.message),
    );
    assert.throws(
      () => new entra.DefaultAzureCredential({ managedIdentityClientId: 'a', managedIdentityResourceId: 'b' }),
      (e) => e instanceof entra.ConfigurationError && /at most one/.test(e.message),
    );
    assert.throws(() => new entra.DefaultAzureCredential({ processTimeoutInMs: -1 }), (e) => e instanceof entra.ConfigurationError && /processTimeoutInMs/.test(e.message));
    assert.throws(() => new entra.DefaultAzureCredential({ processTimeoutInMs: 0 }), (e) => e instanceof entra.ConfigurationError && /longer than zero/.test(e.message));
    // Astronomically large used to panic in Duration::from_secs_f64; now a configuration error.
    assert.throws(() => new entra.DefaultAzureCredential({ processTimeoutInMs: 1e300 }), (e) => e instanceof entra.ConfigurationError && /processTimeoutInMs/.test(e.message));
    for (const Cls of [entra.AzureCliCredential, entra.AzureDeveloperCliCredential]) {
      for (const bad of [0, -1, Number.NaN, 1e300]) {
        assert.throws(() => new Cls({ processTimeoutInMs: bad }), (e) => e instanceof entra.ConfigurationError, `${Cls.name} ${bad}`);
      }
      assert.ok(new Cls({ processTimeoutInMs: 2000 }));
    }
  } finally {
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
  }
});
