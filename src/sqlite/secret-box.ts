import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * Secrets at rest: the authority's account secrets and device keys (needed in clear to verify HMACs) and
 * the station's live tokens (needed in clear to draw a batch's codes again after a restart) are encrypted
 * (AES-256-GCM) under a key file kept beside the database, owner-only. A leaked .db reveals nothing.
 * It lives in src/sqlite, the storage layer both stores build on (src/protocol does no I/O, and the key
 * file is I/O).
 */
export interface SecretBox {
  seal(plain: string): string;
  open(sealed: string): string;
}

/** Sealed values start with this, so a store can tell them from clear ones it still has to seal. */
export const SEALED_PREFIX = 'v1.';

export function createSecretBox(masterKey: Buffer): SecretBox {
  if (masterKey.length !== 32) throw new Error('master key must be 32 bytes');
  return {
    seal(plain) {
      const iv = randomBytes(12);
      const c = createCipheriv('aes-256-gcm', masterKey, iv);
      const body = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
      return `v1.${iv.toString('base64url')}.${body.toString('base64url')}.${c.getAuthTag().toString('base64url')}`;
    },
    open(sealed) {
      const parts = sealed.split('.');
      const [v, iv, body, tag] = parts;
      if (parts.length !== 4 || v !== 'v1' || !iv || body === undefined || !tag) throw new Error('sealed secret is malformed');
      const tagBytes = Buffer.from(tag, 'base64url');
      // A short tag would be accepted by GCM and is forgeable: only the full 16 bytes count.
      if (tagBytes.length !== 16) throw new Error('sealed secret is malformed');
      const d = createDecipheriv('aes-256-gcm', masterKey, Buffer.from(iv, 'base64url'), { authTagLength: 16 });
      d.setAuthTag(tagBytes);
      return Buffer.concat([d.update(Buffer.from(body, 'base64url')), d.final()]).toString('utf8');
    },
  };
}

/** Reads the master key file (hex), creating it with mode 0600 when it does not exist yet. */
export function loadOrCreateMasterKey(path: string): Buffer {
  if (existsSync(path)) {
    const hex = readFileSync(path, 'utf8').trim();
    if (!/^[0-9a-f]{64}$/.test(hex)) throw new Error(`master key file ${path} must hold 64 hex characters`);
    return Buffer.from(hex, 'hex');
  }
  const key = randomBytes(32);
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileSync(path, key.toString('hex') + '\n', { mode: 0o600, flag: 'wx' });
  return key;
}
