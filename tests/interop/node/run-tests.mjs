// Node reads NODE_EXTRA_CA_CERTS only at process start, so the emulator's CA must exist
// before the test processes start: generate it (kept in a directory, reused by the emulator
// the tests start), then run `node --test` with the CA trusted.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { entraTokenBinary } from "./emulator.mjs";

const here = path.dirname(new URL(import.meta.url).pathname);
const tlsDir = mkdtempSync(path.join(tmpdir(), "entra-token-node-tls-"));
execFileSync(entraTokenBinary(), ["emulate", "--print-ca", "--tls-dir", tlsDir], { stdio: ["ignore", "ignore", "inherit"] });
// One process per file: msal-node remembers the managed identity source it detected.
const files = readdirSync(here).filter((f) => f.endsWith(".test.mjs")).sort();
const result = spawnSync(process.execPath, ["--test", "--test-concurrency=1", ...process.argv.slice(2), ...files], {
  stdio: "inherit",
  cwd: here,
  env: { ...process.env, NODE_EXTRA_CA_CERTS: path.join(tlsDir, "ca.pem"), ENTRA_TOKEN_TLS_DIR: tlsDir },
});
process.exit(result.status ?? 1);
