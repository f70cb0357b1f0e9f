import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSecretBox, loadOrCreateMasterKey } from '../../src/cloud/secret-box.js';

const PLAIN = 'account-secret-Zk3q9PpLw0';

/** Rewrites one part of a sealed secret (v1.iv.body.tag) at the byte level. */
function tamper(sealed: string, part: 1 | 2 | 3, change: (b: Buffer) => Buffer): string {
  const parts = sealed.split('.');
  parts[part] = change(Buffer.from(parts[part]!, 'base64url')).toString('base64url');
  return parts.join('.');
}
const flipFirstByte = (b: Buffer): Buffer => {
  const c = Buffer.from(b);
  c[0] = c[0]! ^ 0x01;
  return c;
};

describe('secret box (secrets at rest)', () => {
  it('given a secret, when sealed and opened with the same key, then the secret comes back (also empty and non-ASCII)', () => {
    const box = createSecretBox(randomBytes(32));
    for (const plain of [PLAIN, '', 'clé-ü-\u{1F511}']) expect(box.open(box.seal(plain))).toBe(plain);
  });

  it('given a sealed secret, then it does not contain the plain text and two seals of one secret differ', () => {
    const box = createSecretBox(randomBytes(32));
    const a = box.seal(PLAIN);
    const b = box.seal(PLAIN);
    expect(a).not.toContain(PLAIN);
    expect(a).not.toContain(Buffer.from(PLAIN).toString('base64url'));
    expect(a).toMatch(/^v1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    expect(a).not.toBe(b);
  });

  it('given a sealed secret with one byte changed in the body, the IV or the tag, when opened, then it fails', () => {
    const box = createSecretBox(randomBytes(32));
    const sealed = box.seal(PLAIN);
    for (const part of [1, 2, 3] as const) expect(() => box.open(tamper(sealed, part, flipFirstByte)), `part ${part}`).toThrow();
  });

  it('given a sealed secret whose auth tag was truncated to 4 bytes, when opened, then it fails (a short tag is forgeable)', () => {
    const box = createSecretBox(randomBytes(32));
    const sealed = box.seal(PLAIN);
    expect(() => box.open(tamper(sealed, 3, (tag) => tag.subarray(0, 4)))).toThrow();
  });

  it('given a sealed secret with an extra trailing part, when opened, then it is refused as malformed', () => {
    const box = createSecretBox(randomBytes(32));
    expect(() => box.open(`${box.seal(PLAIN)}.extra`)).toThrow(/malformed/);
  });

  it('given malformed sealed text, when opened, then it is refused as malformed', () => {
    const box = createSecretBox(randomBytes(32));
    for (const bad of ['', 'plain-text', 'v2.aaaa.bbbb.cccc', 'v1..bbbb.cccc', 'v1.aaaa.bbbb.']) expect(() => box.open(bad), bad).toThrow(/malformed/);
  });

  it('given a different key, when opening, then it fails', () => {
    const sealed = createSecretBox(randomBytes(32)).seal(PLAIN);
    expect(() => createSecretBox(randomBytes(32)).open(sealed)).toThrow();
  });

  it('given a key that is not 32 bytes, then no box is made', () => {
    expect(() => createSecretBox(randomBytes(16))).toThrow('master key must be 32 bytes');
  });
});

describe('master key file', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'master-key-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('given no key file, when loaded, then a 32-byte key is created in a 0600 file, and loading again reads the same key', () => {
    const path = join(dir, 'master.key');
    const key = loadOrCreateMasterKey(path);
    expect(key).toHaveLength(32);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readFileSync(path, 'utf8').trim()).toBe(key.toString('hex'));
    expect(loadOrCreateMasterKey(path).equals(key)).toBe(true);
    // And it really is the key: a secret sealed before a restart opens after it.
    const sealed = createSecretBox(key).seal(PLAIN);
    expect(createSecretBox(loadOrCreateMasterKey(path)).open(sealed)).toBe(PLAIN);
  });

  it.each([
    ['too short', 'abcd\n'],
    ['not hex', `${'zz'.repeat(32)}\n`],
    ['empty', ''],
    ['two keys', `${'ab'.repeat(32)}\n${'cd'.repeat(32)}\n`],
  ])('given a malformed key file (%s), when loaded, then it is refused and left as it is', (_name, content) => {
    const path = join(dir, 'master.key');
    writeFileSync(path, content, { mode: 0o600 });
    expect(() => loadOrCreateMasterKey(path)).toThrow(/must hold 64 hex characters/);
    expect(readFileSync(path, 'utf8')).toBe(content);
  });
});
