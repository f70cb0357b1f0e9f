import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

/**
 * Secrets at rest: account secrets and device keys are needed in clear to verify HMACs, so they are
 * encrypted (AES-256-GCM) under a master key kept outside the database. A leaked .db reveals nothing.
 */
export interface SecretBox {
  seal(plain: string): string;
  open(sealed: string): string;
}

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
  writeFileSync(path, key.toString('hex') + '\n', { mode: 0o600, flag: 'wx' });
  return key;
}
