// Drop-in use: @azure/core-rest-pipeline's bearerTokenAuthenticationPolicy sending a request to
// the emulator's protected API, and the fetch helper answering a claims challenge.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { bearerTokenAuthenticationPolicy, createDefaultHttpClient, createEmptyPipeline, createPipelineRequest } from '@azure/core-rest-pipeline';
import * as entra from '../lib/index.mjs';
import { startEmulator, claimsOf, WEATHER_CLIENT_ID, WEATHER_CLIENT_SECRET, WEATHER_SCOPE } from './helpers.mjs';

let emulator;
before(async () => {
  emulator = await startEmulator();
});
after(() => emulator?.stop());
beforeEach(async () => {
  await emulator.reset();
  entra.clearCache();
});

const credential = () => new entra.ClientSecretCredential(emulator.tenantId, WEATHER_CLIENT_ID, WEATHER_CLIENT_SECRET, { authorityHost: emulator.url });

test('@azure/core-rest-pipeline bearerTokenAuthenticationPolicy calls the protected API', async () => {
  // The bearer policy insists on https: an https emulator, whose CA run.mjs made trusted.
  const secure = await startEmulator([], { https: true });
  try {
    const cred = new entra.ClientSecretCredential(secure.tenantId, WEATHER_CLIENT_ID, WEATHER_CLIENT_SECRET, { authorityHost: secure.url });
    const pipeline = createEmptyPipeline();
    pipeline.addPolicy(bearerTokenAuthenticationPolicy({ credential: cred, scopes: WEATHER_SCOPE }));
    const request = createPipelineRequest({ url: `${secure.weatherUrl}?city=Bergen` });
    const response = await pipeline.sendRequest(createDefaultHttpClient(), request);
    assert.equal(response.status, 200, response.bodyAsText);
    assert.equal(JSON.parse(response.bodyAsText).city, 'Bergen');
    assert.equal((await secure.tokenRequests()).length, 1);
  } finally {
    secure.stop();
  }
});

test('the fetch helper retries once on a claims challenge with a token that satisfies it', async () => {
  const cred = credential();
  const old = await cred.getToken(WEATHER_SCOPE);
  await emulator.admin('POST', 'weather/claims-challenge', { acrs: 'c1' });
  let sentAuthorization = [];
  const spy = (input, init) => {
    sentAuthorization.push(new Headers(init.headers).get('authorization'));
    return fetch(input, init);
  };
  const authed = entra.createAuthenticatedFetch(cred, WEATHER_SCOPE, spy);
  const response = await authed(emulator.weatherUrl);
  assert.equal(response.status, 200);
  assert.equal(sentAuthorization.length, 2);
  assert.equal(sentAuthorization[0], `Bearer ${old.token}`);
  assert.deepEqual(claimsOf(sentAuthorization[1].slice(7)).acrs, ['c1']);
  const sent = await emulator.tokenRequests();
  assert.equal(sent.length, 2);
  assert.match(Object.fromEntries(sent[1].form).claims, /"acrs"/);
});

test('the fetch helper passes other 401s through without retrying', async () => {
  const failing = { getToken: async () => ({ token: 'not-a-jwt', expiresOnTimestamp: Date.now() + 60_000 }) };
  let calls = 0;
  const response = await entra.createAuthenticatedFetch(failing, WEATHER_SCOPE, (i, init) => {
    calls += 1;
    return fetch(i, init);
  })(emulator.weatherUrl);
  assert.equal(response.status, 401);
  assert.equal(calls, 1);
});

test('getBearerTokenProvider, as @azure/identity has it, gives the token and then the cached one', async () => {
  const provider = entra.getBearerTokenProvider(credential(), WEATHER_SCOPE);
  const first = await provider();
  assert.equal(await provider(), first);
  assert.equal(claimsOf(first).appid, WEATHER_CLIENT_ID);
  const response = await fetch(emulator.weatherUrl, { headers: { authorization: `Bearer ${first}` } });
  assert.equal(response.status, 200);
  assert.equal((await emulator.tokenRequests()).length, 1);
  // Any @azure/core-auth credential will do; one that yields no token is reported, not returned.
  await assert.rejects(entra.getBearerTokenProvider({ getToken: async () => null }, WEATHER_SCOPE)(), (e) => e.name === 'CredentialUnavailableError');
});
