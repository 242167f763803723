// @azure/identity's ManagedIdentityCredential, unchanged, against one of the emulator's
// managed identity endpoints (one source per process: msal-node caches the detected source).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { ManagedIdentityCredential } from "@azure/identity";
import { startEmulator, claimsOf } from "./emulator.mjs";

const USER_ASSIGNED_CLIENT_ID = "66666666-6666-4666-8666-666666666666";
const USER_ASSIGNED_RESOURCE_ID =
  "/subscriptions/00000000-0000-4000-8000-000000000000/resourceGroups/emulator/providers/Microsoft.ManagedIdentity/userAssignedIdentities/weather-reader";

export function managedIdentityTests(source, pathPrefix) {
  let emulator;
  before(async () => {
    emulator = await startEmulator();
    emulator.actAsHost(source);
  });
  after(() => emulator?.stop());

  for (const [name, options] of [
    ["system-assigned", undefined],
    ["user-assigned by client id", { clientId: USER_ASSIGNED_CLIENT_ID }],
    ["user-assigned by resource id", { resourceId: USER_ASSIGNED_RESOURCE_ID }],
  ]) {
    test(`${source}: ManagedIdentityCredential ${name}`, async () => {
      const before = (await emulator.requestsTo(pathPrefix)).length;
      const credential = options ? new ManagedIdentityCredential(options) : new ManagedIdentityCredential();
      const token = await credential.getToken("api://weather/.default");
      const claims = claimsOf(token.token);
      assert.deepEqual(claims.roles, ["Weather.Read"]);
      if (options) assert.equal(claims.appid, USER_ASSIGNED_CLIENT_ID);
      assert.equal((await emulator.callWeather(token.token)).status, 200);
      assert.ok((await emulator.requestsTo(pathPrefix)).length > before, `reached the emulator's ${source} endpoint`);
    });
  }
}
