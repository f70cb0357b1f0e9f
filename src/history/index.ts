export { openHistoryStore, type HistoryStore, type HistoryStoreOptions } from './operation-log.js';
export { newAttemptSchema, type NewAttempt } from './new-attempt.js';
export { historyScopeSchema, type HistoryScope } from './history-scope.js';
export { HistoryInputError } from './errors.js';
export { CSV_COLUMNS, type CsvHintColumn } from './csv-export.js';
export { DEFAULT_PAGE_LIMIT } from './history-reader.js';
export { latestHistoryVersion } from './operation-log-database.js';
