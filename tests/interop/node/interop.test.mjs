// @azure/msal-node and @azure/identity, unchanged, acquire tokens from the emulator and call
// its weather API.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHash, X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { ConfidentialClientApplication } from "@azure/msal-node";
import { ClientSecretCredential, ClientCertificateCredential } from "@azure/identity";
import { startEmulator, claimsOf, fixtures } from "./emulator.mjs";

const WEATHER_CLIENT_ID = "33333333-3333-4333-8333-333333333333";
const WEATHER_CLIENT_SECRET = "emulator-weather-client-secret";
const CERT_CLIENT_ID = "44444444-4444-4444-8444-444444444444";
const NO_ROLE_CLIENT_ID = "55555555-5555-4555-8555-555555555555";
const NO_ROLE_CLIENT_SECRET = "emulator-no-role-secret";
const SCOPE = "api://weather/.default";

let emulator;
before(async () => {
  emulator = await startEmulator();
});
after(() => emulator?.stop());

function msalApp(clientId, credential) {
  return new ConfidentialClientApplication({
    auth: {
      clientId,
      authority: `${emulator.url}/${emulator.tenantId}`,
      // A known authority: msal-node skips instance discovery, so nothing leaves loopback.
      knownAuthorities: [emulator.host],
      ...credential,
    },
  });
}

test("msal-node with a client secret", async () => {
  await emulator.clearRequests();
  const result = await msalApp(WEATHER_CLIENT_ID, { clientSecret: WEATHER_CLIENT_SECRET }).acquireTokenByClientCredential({ scopes: [SCOPE] });
  assert.deepEqual(claimsOf(result.accessToken).roles, ["Weather.Read"]);
  assert.equal((await emulator.callWeather(result.accessToken)).status, 200);
  const sent = await emulator.tokenRequests();
  assert.equal(sent.length, 1);
});

test("msal-node with a certificate (PS256, x5t#S256, x5c)", async () => {
  const pem = readFileSync(path.join(fixtures, "cert-a.pem"), "utf8");
  const thumbprintSha256 = createHash("sha256").update(new X509Certificate(pem).raw).digest("hex");
  const result = await msalApp(CERT_CLIENT_ID, {
    clientCertificate: { thumbprintSha256, privateKey: readFileSync(path.join(fixtures, "cert-a.key"), "utf8"), x5c: pem },
  }).acquireTokenByClientCredential({ scopes: [SCOPE] });
  assert.equal(claimsOf(result.accessToken).appidacr, "2");
  assert.equal((await emulator.callWeather(result.accessToken)).status, 200);
});

test("msal-node reports the Entra error for a wrong secret", async () => {
  await assert.rejects(
    msalApp(WEATHER_CLIENT_ID, { clientSecret: "not-the-secret" }).acquireTokenByClientCredential({ scopes: [SCOPE] }),
    (e) => e.errorCode === "invalid_client" && /AADSTS7000215/.test(e.errorMessage),
  );
});

test("@azure/identity ClientSecretCredential, and 403 without the role", async () => {
  const options = { authorityHost: emulator.url, disableInstanceDiscovery: true };
  const credential = new ClientSecretCredential(emulator.tenantId, WEATHER_CLIENT_ID, WEATHER_CLIENT_SECRET, options);
  const token = await credential.getToken(SCOPE);
  assert.ok(token.expiresOnTimestamp > Date.now());
  assert.equal((await emulator.callWeather(token.token)).status, 200);

  const noRole = new ClientSecretCredential(emulator.tenantId, NO_ROLE_CLIENT_ID, NO_ROLE_CLIENT_SECRET, options);
  assert.equal((await emulator.callWeather((await noRole.getToken(SCOPE)).token)).status, 403);
});

test("@azure/identity ClientCertificateCredential", async () => {
  const credential = new ClientCertificateCredential(
    emulator.tenantId,
    CERT_CLIENT_ID,
    { certificatePath: path.join(fixtures, "cert-a-combined.pem") },
    { authorityHost: emulator.url, disableInstanceDiscovery: true },
  );
  const token = await credential.getToken(SCOPE);
  assert.equal(claimsOf(token.token).appid, CERT_CLIENT_ID);
  assert.equal((await emulator.callWeather(token.token)).status, 200);
});
