// The cross-runtime scenarios (tests/scenarios/*.json), replayed through the Node package as
// core/tests/scenarios.rs and the Python tests replay them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import * as entra from '../lib/index.mjs';
import { startEmulator, claimsOf, root, fixtures, WEATHER_CLIENT_ID, WEATHER_CLIENT_SECRET, CERT_CLIENT_ID, NO_ROLE_CLIENT_ID, NO_ROLE_CLIENT_SECRET } from './helpers.mjs';

const dir = path.join(root, 'tests', 'scenarios');
const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();

let emulator;
before(async () => {
  emulator = await startEmulator();
});
after(() => emulator?.stop());

function load(file) {
  let text = readFileSync(path.join(dir, file), 'utf8');
  const values = {
    '${WEATHER_CLIENT_ID}': WEATHER_CLIENT_ID,
    '${WEATHER_CLIENT_SECRET}': WEATHER_CLIENT_SECRET,
    '${CERT_CLIENT_ID}': CERT_CLIENT_ID,
    '${NO_ROLE_CLIENT_ID}': NO_ROLE_CLIENT_ID,
    '${NO_ROLE_CLIENT_SECRET}': NO_ROLE_CLIENT_SECRET,
    '${TENANT}': emulator.tenantId,
  };
  for (const [k, v] of Object.entries(values)) text = text.split(k).join(v);
  return JSON.parse(text);
}

function build(spec) {
  const options = { authorityHost: emulator.url };
  if (spec.kind === 'client_secret') return new entra.ClientSecretCredential(emulator.tenantId, spec.client_id, spec.secret, options);
  if (spec.kind === 'client_certificate') {
    return new entra.ClientCertificateCredential(emulator.tenantId, spec.client_id, { certificatePath: path.join(fixtures, spec.path), certificatePassword: spec.password }, options);
  }
  throw new Error(`unknown credential kind ${spec.kind}`);
}

test('every scenario file is replayed', () => assert.ok(files.length >= 9));

for (const file of files) {
  test(`scenario ${file}`, async () => {
    await emulator.reset();
    entra.clearCache();
    const scenario = load(file);
    for (const fault of scenario.faults) await emulator.addFault(fault);
    const credential = build(scenario.credential);
    const before = entra.cacheStats();
    for (const call of scenario.calls) {
      if (call.force_refresh) entra.clearCache(); // @azure/core-auth has no force refresh
      if (call.expect.token) {
        const claims = claimsOf((await credential.getToken(call.scopes)).token);
        for (const [k, v] of Object.entries(call.expect.token.claims)) assert.deepEqual(claims[k], v, `${scenario.name}: claim ${k}`);
      } else {
        const wanted = call.expect.error;
        await assert.rejects(credential.getToken(call.scopes), (e) => {
          assert.ok(e instanceof entra.EntraTokenError, `${scenario.name}: ${e}`);
          assert.equal(e.code, wanted.kind, scenario.name);
          if ('status' in wanted) assert.equal(e.status, wanted.status, scenario.name);
          if ('aadsts' in wanted) assert.equal(e.aadstsCode, wanted.aadsts, scenario.name);
          if ('oauth_error' in wanted) assert.equal(e.oauthError, wanted.oauth_error, scenario.name);
          if ('retryable' in wanted) assert.equal(e.retryable, wanted.retryable, scenario.name);
          return true;
        });
      }
    }
    const sent = await emulator.tokenRequests();
    assert.equal(sent.length, scenario.expect_token_requests, `${scenario.name}: token requests`);
    if (scenario.expect_statuses) assert.deepEqual(sent.map((r) => r.status), scenario.expect_statuses, scenario.name);
    if (scenario.expect_cache) {
      const after = entra.cacheStats();
      const moved = Object.fromEntries(Object.keys(scenario.expect_cache).map((k) => [k, after[k] - before[k]]));
      assert.deepEqual(moved, scenario.expect_cache, `${scenario.name}: cache counters`);
    }
  });
}
