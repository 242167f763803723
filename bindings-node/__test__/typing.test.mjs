// index.d.ts gives TypeScript users full types: `tsc --strict` accepts typical use and rejects a wrong one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';

const here = path.dirname(new URL(import.meta.url).pathname);
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');

test('tsc --noEmit --strict accepts the example', () => {
  const r = spawnSync(process.execPath, [tsc, '-p', path.join(here, 'typing', 'tsconfig.json')], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
});

test('tsc --noEmit --strict rejects a wrong use', () => {
  const r = spawnSync(process.execPath, [tsc, '--noEmit', '--strict', '--target', 'ES2022', '--module', 'NodeNext', '--moduleResolution', 'NodeNext', '--types', 'node', path.join(here, 'typing', 'bad.ts')], { encoding: 'utf8' });
  assert.notEqual(r.status, 0);
  assert.match(r.stdout, /Type 'string' is not assignable to type 'number'/);
});
