import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeCameraImage } from '../../src/device/index.js';
import { jsQR } from '../../src/device/qr-camera/jsqr.js';
import { encodeQrPayload, type QrPayload } from '../../src/protocol/index.js';
import { renderQrPng, UTF8_ECI_DESIGNATOR } from '../../src/qr/index.js';
import { pngToRgba } from '../device/support/pixels.js';

/**
 * Pairing codes read by two decoders that are not ours (DESIGN §4.1): jsQR (the virtual camera's) and
 * zbar's `zbarimg --raw` (Debian zbar-tools, run as a real process), at 2 px per module, byte for byte.
 * zbar guesses Shift-JIS for a byte segment without ECI: without the UTF-8 ECI it reads
 * `Café-Läb-Ω` as `Caf矇-L瓣b-峏`.
 */
const SCALE = 2;
const utf8 = new TextEncoder();
const token = 'EUk3Xq9Zp2Lm7Rw4';
const longestToken = `IN${'Ab3_-Zy9'}${'x7-_Qk2M'.repeat(8)}`; // region, 8-char id, 64-char secret: 74 chars

const cases: Array<[string, QrPayload]> = [
  ['ASCII', { s: 'BenchWiFi-01', p: 'returns-2026', t: token }],
  ['Latin (é, ä, Ω)', { s: 'Café-Läb-Ω', p: 'password', t: token }],
  ['Latin (ü)', { s: 'Büro', p: 'password', t: token }],
  ['Latin (ß)', { s: 'Straße', p: 'password', t: token }],
  ['Latin (ñ, ú)', { s: 'ñandú', p: 'password', t: token }],
  ['Greek', { s: 'Εργαστήριο', p: 'password', t: token }],
  ['Cyrillic', { s: 'Лаборатория', p: 'password', t: token }],
  ['CJK (Japanese)', { s: '実験室のネット', p: 'password', t: token }],
  ['CJK (Chinese)', { s: '测试网络', p: 'password', t: token }],
  ['CJK (Korean)', { s: '연구실 와이파이', p: 'password', t: token }],
  ['emoji', { s: '📷 Bench 🔧', p: 'password', t: token }],
  ['open network, emoji and quotes', { s: '"🛜" \\ test', p: '', t: token }],
  // Worst cases (DESIGN §4.1): 32-byte SSID, 63-char password, the longest token; JSON escapes make them larger.
  ['worst case, ASCII quotes', { s: '"'.repeat(32), p: '\\'.repeat(63), t: longestToken }],
  ['worst case, non-ASCII', { s: `${'"'.repeat(30)}é`, p: '"'.repeat(63), t: longestToken }],
  ['worst case, 4-byte characters', { s: '🔧📷🛜😀🌍🎛🔑🧪', p: '"~'.repeat(31) + '~', t: longestToken }],
  ['WPA key of 64 hex digits', { s: 'Ωmega-Lab', p: 'a1B2c3D4e5F6'.repeat(6).slice(0, 64), t: longestToken }],
];

let dir = '';

let zbarimgCheck: { version: string } | { error: Error } | undefined;

/** zbarimg must be there: without it every zbar test fails with this message, none is skipped silently. */
function zbarimgVersion(): string {
  if (!zbarimgCheck) {
    try {
      zbarimgCheck = { version: execFileSync('zbarimg', ['--version'], { encoding: 'utf8' }).trim() };
    } catch (err) {
      zbarimgCheck = {
        error: new Error(
          `zbarimg is not installed (${err instanceof Error ? err.message : String(err)}): the QR interop tests need Debian's zbar-tools ` +
            '(apt-get install zbar-tools; .ci/run installs it when missing)',
        ),
      };
    }
  }
  if ('error' in zbarimgCheck) throw zbarimgCheck.error;
  return zbarimgCheck.version;
}

/** `zbarimg --raw` on a PNG file: the symbol's bytes as zbar reads them, without the newline it ends them with. */
function zbarRead(file: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    execFile('zbarimg', ['--raw', '--quiet', '--nodbus', file], { encoding: 'buffer' }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`zbarimg failed on ${file}: ${err.message} ${stderr.toString()}`));
      if (stdout.at(-1) !== 0x0a) return reject(new Error(`zbarimg output does not end in a newline: ${stdout.toString('hex')}`));
      resolve(stdout.subarray(0, -1));
    });
  });
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'qr-zbar-'));
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('pairing codes read byte for byte by jsQR and zbarimg at 2 px per module (issue 9)', () => {
  it('zbarimg is installed (Debian zbar-tools)', () => {
    expect(zbarimgVersion()).toMatch(/^\d+\.\d+/);
  });

  cases.forEach(([name, payload], i) => {
    it(`${name}: ${JSON.stringify(payload.s)}`, async () => {
      const bytes = utf8.encode(encodeQrPayload(payload));
      const ascii = bytes.every((b) => b < 0x80);
      const rendered = await renderQrPng(payload, { scale: SCALE });
      expect(rendered.eci).toBe(ascii ? null : UTF8_ECI_DESIGNATOR);

      // jsQR, as the virtual camera runs it: the byte segment's bytes, after an ECI chunk when not ASCII.
      const image = pngToRgba(rendered.png);
      const code = jsQR(new Uint8ClampedArray(image.data), image.width, image.height);
      expect(code, 'jsQR finds the code').not.toBeNull();
      expect(Buffer.from(code!.binaryData).equals(Buffer.from(bytes))).toBe(true);
      const eciChunks = code!.chunks.filter((c) => c.type === 'eci');
      expect(eciChunks).toEqual(ascii ? [] : [{ type: 'eci', assignmentNumber: UTF8_ECI_DESIGNATOR }]);
      // The whole camera path: PNG bytes in, the payload out.
      expect(decodeCameraImage(rendered.png)).toMatchObject({ ok: true, payload });

      // zbarimg, a real process on a real file.
      zbarimgVersion();
      const file = join(dir, `case-${i}.png`);
      writeFileSync(file, rendered.png);
      const read = await zbarRead(file);
      expect(read.toString('utf8')).toBe(encodeQrPayload(payload));
      expect(read.equals(Buffer.from(bytes))).toBe(true);
    });
  });

  it('the worst cases are at the limits (32-byte SSID, 63-char password, 74-char token), under 512 bytes, in a version a bench screen shows', async () => {
    const worst = cases.filter(([n]) => n.startsWith('worst case'));
    expect(worst).toHaveLength(3);
    for (const [name, payload] of worst) {
      expect(utf8.encode(payload.s).length, name).toBe(32);
      expect(payload.p.length, name).toBe(63);
      expect(payload.t.length, name).toBe(74);
      const r = await renderQrPng(payload, { scale: SCALE });
      expect(r.payloadBytes, name).toBeLessThanOrEqual(512);
      expect(r.version, name).toBeLessThanOrEqual(13);
    }
  });
});
