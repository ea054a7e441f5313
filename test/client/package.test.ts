/** The package exposes the client as its SDK and `boatload` as its command (compiled dist/, as tests use it). */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { projectRoot } from '../../common/project-root';

const root = projectRoot();
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

test('main and exports point at the compiled client, types next to it', () => {
  expect(pkg.main).toBe('dist/client/index.js');
  expect(pkg.exports['.']).toEqual({ types: './dist/client/index.d.ts', default: './dist/client/index.js' });
  // The client's declarations come from tsconfig.client.json (npm run build), next to its JavaScript.
  const clientConfig = JSON.parse(readFileSync(join(root, 'tsconfig.client.json'), 'utf8'));
  expect(clientConfig.compilerOptions).toMatchObject({ declaration: true, emitDeclarationOnly: true });
  expect(pkg.scripts.build).toContain('tsc -p tsconfig.client.json');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const sdk = require(join(root, pkg.main));
  expect(typeof sdk.BoatLoadClient).toBe('function');
  expect(typeof sdk.BoatLoadApiError).toBe('function');
  expect(Object.keys(sdk.CLIENT_ROUTES).length).toBeGreaterThan(40);
});

test('bin boatload is the compiled CLI with a node shebang', () => {
  expect(pkg.bin).toEqual({ boatload: 'dist/cli/main.js' });
  expect(readFileSync(join(root, pkg.bin.boatload), 'utf8').split('\n')[0]).toBe('#!/usr/bin/env node');
});

/** Every compiled module `start` requires, following relative require() calls. */
function requiredModules(start: string): string[] {
  const seen = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(join(root, file), 'utf8');
    for (const match of text.matchAll(/require\("(\.{1,2}\/[^"]+)"\)/g)) {
      const target = join(dirname(file), match[1]);
      visit(existsSync(join(root, `${target}.js`)) ? `${target}.js` : join(target, 'index.js'));
    }
  };
  visit(start);
  return [...seen];
}

test('the packed package holds every module the command and the SDK load (the CLI reads units/unit-file)', () => {
  const packed = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const files = new Set((JSON.parse(packed) as Array<{ files: Array<{ path: string }> }>)[0]?.files.map((f) => f.path));
  const needed = [...requiredModules(pkg.bin.boatload), ...requiredModules(pkg.main)];
  expect(needed).toContain('dist/units/unit-file.js');
  expect(needed.filter((file) => !files.has(file))).toEqual([]);
}, 60000);
