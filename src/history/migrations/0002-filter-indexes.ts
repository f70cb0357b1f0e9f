import type { Database } from 'better-sqlite3';

/**
 * Indexes for the history filters at a million rows. Every page is ordered newest first by
 * (at, id), so each index has `at, id` right after its equality column (`id` is the rowid, implicit
 * at the end of an index unless named earlier): a filter reads rows already in page order, seeks
 * straight to a cursor, and stops after one page instead of sorting every match.
 */
export function up(db: Database): void {
  db.exec(`
    -- Time-ordered scans (the unfiltered owner view, time ranges, result filters) and stats read this
    -- index alone: result, code, pid and account_id ride along so scope and result checks need no row.
    CREATE INDEX attempts_time ON attempts(at, id, result, code, pid, account_id);
    CREATE INDEX attempts_pid_time ON attempts(pid, at);
    -- The partner view (own rows only); pid rides along to check the partner's products in the index.
    CREATE INDEX attempts_account_time ON attempts(account_id, at, id, pid);
    CREATE INDEX attempts_operator_time ON attempts(operator, at);
    -- Partial: most attempts succeed or belong to no batch, and those rows would only bloat the index.
    CREATE INDEX attempts_code_time ON attempts(code, at) WHERE code IS NOT NULL;
    CREATE INDEX attempts_batch_time ON attempts(batch_id, at) WHERE batch_id IS NOT NULL;
  `);
}
