// Starts `entra-token emulate --https` as a user would and reads the environment it prints.
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import path from "node:path";

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "../../..");

export function entraTokenBinary() {
  if (process.env.ENTRA_TOKEN_BIN) return process.env.ENTRA_TOKEN_BIN;
  const target = process.env.CARGO_TARGET_DIR ?? path.join(root, "target");
  return path.join(target, "debug", "entra-token");
}

export const fixtures = path.join(root, "tests", "fixtures");
// The secret the emulator's App Service endpoint expects (IDENTITY_HEADER on a real host).
export const IDENTITY_HEADER = "interop-identity-header";
const MI_VARS = ["AZURE_POD_IDENTITY_AUTHORITY_HOST", "IDENTITY_ENDPOINT", "IDENTITY_HEADER", "MSI_ENDPOINT", "MSI_SECRET", "IMDS_ENDPOINT", "IDENTITY_SERVER_THUMBPRINT"];

export async function startEmulator() {
  const tlsDir = process.env.ENTRA_TOKEN_TLS_DIR;
  if (!tlsDir) throw new Error("run through run-tests.mjs (npm test), which trusts the emulator's CA");
  const child = spawn(entraTokenBinary(), ["emulate", "--https", "--tls-dir", tlsDir, "--identity-header", IDENTITY_HEADER], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const env = {};
  const lines = createInterface({ input: child.stdout });
  for await (const line of lines) {
    if (line === "# ready") break;
    const match = /^export ([A-Z_]+)=(.*)$/.exec(line);
    if (match) env[match[1]] = match[2];
  }
  if (!env.AZURE_AUTHORITY_HOST) throw new Error("entra-token emulate did not start");
  const url = env.AZURE_AUTHORITY_HOST;
  return {
    url,
    tenantId: env.AZURE_TENANT_ID,
    host: new URL(url).host,
    weatherUrl: `${url}/weather/forecast`,
    async tokenRequests() {
      const all = await (await fetch(`${url}/_emulator/requests`)).json();
      return all.filter((r) => r.path.endsWith("/oauth2/v2.0/token"));
    },
    async clearRequests() {
      await fetch(`${url}/_emulator/requests`, { method: "DELETE" });
    },
    /** Sets the variables an Azure host of this kind sets, pointing at the emulator. */
    actAsHost(source) {
      for (const name of MI_VARS) delete process.env[name];
      if (source === "imds") process.env.AZURE_POD_IDENTITY_AUTHORITY_HOST = url;
      else {
        process.env.IDENTITY_ENDPOINT = `${url}/msi/token`;
        process.env.IDENTITY_HEADER = IDENTITY_HEADER;
      }
    },
    async requestsTo(prefix) {
      const all = await (await fetch(`${url}/_emulator/requests`)).json();
      return all.filter((r) => r.path.startsWith(prefix));
    },
    async callWeather(token) {
      return fetch(this.weatherUrl, { headers: { authorization: `Bearer ${token}` } });
    },
    stop() {
      child.kill();
    },
  };
}

export function claimsOf(jwt) {
  return JSON.parse(Buffer.from(jwt.split(".")[1], "base64url").toString());
}
