// Runs the node:test files. Node reads NODE_EXTRA_CA_CERTS only at start-up, so the https
// emulator's CA (kept in a directory the tests reuse) is made first; the Rust core trusts it
// through SSL_CERT_FILE.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { root } from './helpers.mjs';

const here = path.dirname(new URL(import.meta.url).pathname);
const binary = process.env.ENTRA_TOKEN_BIN ?? path.join(process.env.CARGO_TARGET_DIR ?? path.join(root, 'target'), 'debug', 'entra-token');
const tlsDir = mkdtempSync(path.join(tmpdir(), 'entra-token-node-tls-'));
execFileSync(binary, ['emulate', '--print-ca', '--tls-dir', tlsDir], { stdio: ['ignore', 'ignore', 'inherit'] });
const ca = path.join(tlsDir, 'ca.pem');
const files = readdirSync(here).filter((f) => f.endsWith('.test.mjs')).sort().map((f) => path.join(here, f));
const result = spawnSync(process.execPath, ['--test', '--test-concurrency=1', ...process.argv.slice(2), ...files], {
  stdio: 'inherit',
  env: { ...process.env, NODE_EXTRA_CA_CERTS: ca, SSL_CERT_FILE: ca, ENTRA_TOKEN_TLS_DIR: tlsDir },
});
process.exit(result.status ?? 1);
