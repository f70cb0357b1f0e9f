export { latestVersion, migrateTo, refuseNewerSchema, type Migration, type SqliteSchema } from './migrations.js';
export { openSqliteReader, openSqliteWriter, type OpenSqliteOptions } from './open-sqlite.js';
export { StoreLockedError, takeWriterLock, type WriterHolder, type WriterLock } from './writer-lock.js';
export { createSecretBox, loadOrCreateMasterKey, SEALED_PREFIX, type SecretBox } from './secret-box.js';
