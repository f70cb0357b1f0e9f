import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
const deviceDir = join(root, 'src/device');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

/** Every module specifier: static imports and exports, dynamic import(), require(). */
function specifiers(code: string): string[] {
  const found: string[] = [];
  const patterns = [/\b(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]/g, /\bimport\s*['"]([^'"]+)['"]/g, /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g, /\brequire\s*\(\s*['"]([^'"]+)['"]\s*\)/g];
  for (const p of patterns) for (const m of code.matchAll(p)) found.push(m[1]!);
  return found;
}

describe('layering: src/device is firmware, it imports only src/protocol and npm packages', () => {
  const files = sourceFiles(deviceDir);

  it('finds the device sources', () => {
    expect(files.length).toBeGreaterThan(10);
  });

  for (const file of files) {
    it(relative(root, file), () => {
      for (const spec of specifiers(readFileSync(file, 'utf8'))) {
        if (!spec.startsWith('.')) {
          expect(spec, `${spec} must be a package, not a path alias`).not.toMatch(/^(src|@\/)/);
          continue;
        }
        const target = relative(root, resolve(join(file, '..'), spec));
        const allowed = target.startsWith('src/device/') || target.startsWith('src/protocol/');
        expect(allowed, `${relative(root, file)} imports ${spec} (${target})`).toBe(true);
      }
    });
  }

  it('src/protocol stays free of I/O', () => {
    for (const file of sourceFiles(join(root, 'src/protocol'))) {
      for (const spec of specifiers(readFileSync(file, 'utf8'))) {
        expect(['node:fs', 'node:fs/promises', 'node:net', 'node:http', 'node:https', 'fs', 'net', 'http']).not.toContain(spec);
      }
    }
  });
});
