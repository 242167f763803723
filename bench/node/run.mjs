// Starts bench_node.mjs with the emulator's CA trusted (Node reads NODE_EXTRA_CA_CERTS only at start).
import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const binary = process.env.ENTRA_TOKEN_BIN ?? path.join(process.env.CARGO_TARGET_DIR ?? path.join(root, 'target'), 'debug', 'entra-token');
const tlsDir = path.join(root, 'target', 'bench-tls');
execFileSync(binary, ['emulate', '--print-ca', '--tls-dir', tlsDir], { stdio: ['ignore', 'ignore', 'inherit'] });
const ca = path.join(tlsDir, 'ca.pem');
const r = spawnSync(process.execPath, [path.join(path.dirname(new URL(import.meta.url).pathname), 'bench_node.mjs'), ...process.argv.slice(2)], {
  stdio: 'inherit',
  env: { ...process.env, NODE_EXTRA_CA_CERTS: ca, SSL_CERT_FILE: ca, ENTRA_TOKEN_TLS_DIR: tlsDir },
});
process.exit(r.status ?? 1);
