import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { REPO } from '../support/processes.js';

/**
 * The Electron binary cannot run here, so the next best proof: main and preload bundle as
 * `npm run build:electron` does, and the sandboxed preload pulls in nothing but `electron` itself.
 */
describe('Electron entry points', () => {
  it('the preload bundles alone, with electron as its only import at run time', async () => {
    const r = await build({ entryPoints: [`${REPO}src/main/electron-preload.ts`], bundle: true, platform: 'node', format: 'cjs', external: ['electron'], write: false, metafile: true, logLevel: 'silent' });
    const inputs = Object.keys(r.metafile.inputs);
    expect(inputs).toEqual(['src/main/electron-preload.ts']);
    const imports = r.metafile.outputs[Object.keys(r.metafile.outputs)[0]!]!.imports.map((i) => i.path);
    expect(imports).toEqual(['electron']);
    const code = r.outputFiles[0]!.text;
    expect(code).toContain('exposeInMainWorld("unbindStation"');
    expect(code).not.toMatch(/ipcRenderer\.send\(|invoke\(channel/); // named calls only, no generic passthrough
  });

  it('the main process bundles with the station services it wires', async () => {
    const r = await build({ entryPoints: [`${REPO}src/main/electron-main.ts`], bundle: true, platform: 'node', format: 'esm', packages: 'external', write: false, metafile: true, logLevel: 'silent' });
    const inputs = Object.keys(r.metafile.inputs);
    expect(inputs).toContain('src/main/compose-station.ts');
    expect(inputs).toContain('src/main/station-calls.ts');
    const code = r.outputFiles[0]!.text;
    expect(code).toMatch(/contextIsolation: true/);
    expect(code).toMatch(/sandbox: true/);
  });
});
