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

// The declarations must describe the objects the package really exports (a stubtest for
// index.d.ts): every value it declares exists in both entry points with the same kind, every
// method it declares is on the class, and nothing public is exported undeclared.
test('index.d.ts declares exactly what the CommonJS and ESM entries export', async () => {
  const ts = createRequire(import.meta.url)('typescript');
  const declarations = path.join(here, '..', 'index.d.ts');
  const program = ts.createProgram([declarations], { strict: true, types: ['node'] });
  const checker = program.getTypeChecker();
  const declared = checker.getExportsOfModule(checker.getSymbolAtLocation(program.getSourceFile(declarations)));
  const cjs = createRequire(import.meta.url)('..');
  const esm = await import('../lib/index.mjs');
  const problems = [];
  const values = declared.filter((s) => s.flags & (ts.SymbolFlags.Class | ts.SymbolFlags.Function | ts.SymbolFlags.Variable));
  for (const symbol of values) {
    const name = symbol.getName();
    const isClass = Boolean(symbol.flags & ts.SymbolFlags.Class);
    for (const [entry, exported] of [['require', cjs], ['import', esm]]) {
      const value = exported[name];
      if (typeof value !== 'function') problems.push(`${entry}: ${name} is declared but exported as ${typeof value}`);
    }
    const value = cjs[name];
    if (!isClass || typeof value !== 'function') continue;
    for (const member of checker.getDeclaredTypeOfSymbol(symbol).getProperties()) {
      if (member.flags & ts.SymbolFlags.Method && typeof value.prototype[member.getName()] !== 'function') {
        problems.push(`${name}.prototype.${member.getName()} is declared but missing`);
      }
    }
    for (const member of checker.getTypeOfSymbol(symbol).getProperties()) {
      if (member.flags & ts.SymbolFlags.Method && typeof value[member.getName()] !== 'function') {
        problems.push(`${name}.${member.getName()} (static) is declared but missing`);
      }
    }
  }
  const names = new Set(values.map((s) => s.getName()));
  for (const name of new Set([...Object.keys(cjs), ...Object.keys(esm)])) {
    if (!name.startsWith('_') && name !== 'default' && !names.has(name)) problems.push(`${name} is exported but not declared`);
  }
  assert.deepEqual(problems, []);
  assert.ok(values.length > 20, `only ${values.length} values found: the check is not reading index.d.ts`);
});
