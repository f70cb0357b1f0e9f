/**
 * Pairing-code figures (`npm run bench:qr`): payload size and QR version of the compact payload of
 * DESIGN §4.1 against a verbose JSON encoding of the same data, and the time to render a code and
 * to decode it from pixels as a virtual camera does. Medians; exits 1 if the typical payload
 * misses its target of QR version 4.
 */
import { PNG } from 'pngjs';
import { decodeCameraImage, type RgbaImage } from '../src/device/index.js';
import { encodeQrPayload, generateToken, type QrPayload } from '../src/protocol/index.js';
import { qrSymbolFor, renderQrPng, renderQrSvg } from '../src/qr/index.js';

const RUNS = 200;
const NOISY_RUNS = 50;
const TARGET_VERSION = 4;
const utf8 = new TextEncoder();

const cases: Array<{ name: string; payload: QrPayload }> = [
  { name: 'typical (12-char SSID and password)', payload: { s: 'bench-lab-01', p: 'pass-1234567', t: generateToken('EU').token } },
  { name: 'worst (32-byte SSID, 63-byte password)', payload: { s: 'S'.repeat(32), p: 'P'.repeat(63), t: generateToken('EU').token } },
];

/** The same data as a self-describing JSON document would carry it: the reference the compact form is measured against. */
function verbose(p: QrPayload): Uint8Array {
  return utf8.encode(JSON.stringify({ type: 'unbind-pairing', version: 1, wifi: { ssid: p.s, password: p.p, security: 'WPA2-PSK' }, token: p.t, region: p.t.slice(0, 2) }));
}

/** The PNG's pixels with round(fraction × pixels) of them flipped black↔white (deterministic from seed). */
function withSpeckle(png: Buffer, fraction: number, seed: number): RgbaImage {
  const img = PNG.sync.read(png);
  const data = new Uint8Array(img.data);
  const pixels = img.width * img.height;
  let state = seed >>> 0;
  const next = (): number => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32); // LCG: enough for speckle
  const chosen = new Set<number>();
  while (chosen.size < Math.round(pixels * fraction)) chosen.add(Math.floor(next() * pixels));
  for (const p of chosen) data.fill(data[p * 4]! > 127 ? 0 : 255, p * 4, p * 4 + 3);
  return { data, width: img.width, height: img.height };
}

async function medianMs(runs: number, f: () => unknown): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await f();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

const fmt = (n: number, d = 2): string => n.toFixed(d).padStart(8);
let ok = true;

console.log('QR payload size and version (byte mode, ECC M)');
console.log(`${'case'.padEnd(40)} ${'bytes'.padStart(6)} ${'ver'.padStart(4)} ${'modules'.padStart(8)} | ${'verbose B'.padStart(9)} ${'ver'.padStart(4)} | bytes ×  modules² ×`);
for (const { name, payload } of cases) {
  const compact = qrSymbolFor(payload);
  const reference = qrSymbolFor(verbose(payload));
  console.log(
    `${name.padEnd(40)} ${String(compact.payloadBytes).padStart(6)} ${String(compact.version).padStart(4)} ${`${compact.modules}²`.padStart(8)} | ` +
      `${String(reference.payloadBytes).padStart(9)} ${String(reference.version).padStart(4)} | ` +
      `${(reference.payloadBytes / compact.payloadBytes).toFixed(2).padStart(7)} ${((reference.modules / compact.modules) ** 2).toFixed(2).padStart(10)}`,
  );
  if (name.startsWith('typical') && compact.version > TARGET_VERSION) ok = false;
}

console.log(`\nRender and decode, median of ${RUNS} runs (decode: PNG bytes → payload, as a camera does; noisy: 3 % of pixels flipped, ${NOISY_RUNS} runs)`);
console.log(`${'case'.padEnd(40)} ${'png 4px'.padStart(8)} ${'svg'.padStart(8)} ${'decode 4px'.padStart(10)} ${'decode 8px'.padStart(10)} ${'noisy 2px'.padStart(10)}  ms`);
for (const { name, payload } of cases) {
  const png4 = (await renderQrPng(payload, { scale: 4 })).png;
  const png8 = (await renderQrPng(payload, { scale: 8 })).png;
  const png2 = (await renderQrPng(payload, { scale: 2 })).png;
  const renderPng = await medianMs(RUNS, () => renderQrPng(payload, { scale: 4 }));
  const renderSvg = await medianMs(RUNS, () => renderQrSvg(payload, { scale: 4 }));
  const decode4 = await medianMs(RUNS, () => decodeCameraImage(png4));
  const decode8 = await medianMs(RUNS, () => decodeCameraImage(png8));
  let seed = 1;
  let noisyOk = 0;
  const noisy = await medianMs(NOISY_RUNS, () => {
    const r = decodeCameraImage(withSpeckle(png2, 0.03, seed++));
    if (r.ok && r.payload.t === payload.t) noisyOk++;
  });
  if (noisyOk !== NOISY_RUNS) ok = false;
  console.log(`${name.padEnd(40)} ${fmt(renderPng)} ${fmt(renderSvg)} ${fmt(decode4, 2).padStart(10)} ${fmt(decode8, 2).padStart(10)} ${fmt(noisy, 2).padStart(10)}  (noisy decoded ${noisyOk}/${NOISY_RUNS})`);
}

const typical = qrSymbolFor(cases[0]!.payload);
console.log(`\ntypical payload ${encodeQrPayload(cases[0]!.payload).length} B at QR version ${typical.version}: target ≤ ${TARGET_VERSION} ${typical.version <= TARGET_VERSION ? 'met' : 'MISSED'}`);
if (!ok) process.exitCode = 1;
