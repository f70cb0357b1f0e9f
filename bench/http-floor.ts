/**
 * The HTTP floor of bench:authority: an authority-shaped server that does no unbind, in its own
 * process with the same node flags. The same client sends it the same requests; what it costs per
 * request is what any route on this framework and this machine pays before any work of ours, so
 * the bench can print, in the same run, how far its HTTP / direct ratio could go at best.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** The authority's Fastify options that touch each request (src/cloud/http/server.ts), the body parsed, an answer of the same shape. */
const serverSource = (fastifyUrl: string): string => `
import Fastify from ${JSON.stringify(fastifyUrl)};
const app = Fastify({ logger: false, bodyLimit: 64 * 1024, forceCloseConnections: true, return503OnClosing: true });
app.post('/device/v1/unbind', async (req) => ({ result: 'UNBOUND', devId: req.body.devId, tokenId: req.body.tokenId, at: new Date().toISOString() }));
await app.listen({ port: 0, host: '127.0.0.1' });
process.stdout.write('listening ' + app.server.address().port + '\\n');
process.on('SIGTERM', () => app.close().then(() => process.exit(0)));
`;

export async function startHttpFloor(nodeFlags: string[]): Promise<{ url: string; pid: number; stop(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-http-floor-'));
  const file = join(dir, 'floor-server.mjs');
  writeFileSync(file, serverSource(pathToFileURL(createRequire(import.meta.url).resolve('fastify')).href));
  const child = spawn(process.execPath, [...nodeFlags, file], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /listening (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`the HTTP floor server exited ${code}`)));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid!,
    async stop() {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
