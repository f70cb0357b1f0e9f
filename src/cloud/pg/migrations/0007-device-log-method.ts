import type { PoolClient } from 'pg';

/**
 * The twin of SQLite's 0006-device-log-method (DESIGN §4.8): how a device came to ask, `token` (a token
 * handed in) or `local` (unbound on the LAN with its admin password); rows before this were all `token`.
 * `device_log_append` gains the method (a token-less failure folds only into a row of the same method, as
 * on SQLite). `unbind_decide` is not replaced: its append (the 13-argument form, kept) takes the method of
 * the transaction-local setting `unbind.method`, which pg-unbind.ts sets in the same statement as the call
 * (an argument of unbind_decide, so it is set before the function runs and gone at its commit).
 */
export async function up(c: PoolClient): Promise<void> {
  await c.query(`
    ALTER TABLE device_logs ADD COLUMN method TEXT NOT NULL DEFAULT 'token' CHECK (method IN ('token', 'local'));

    CREATE FUNCTION device_log_append(
      p_at bigint, p_dev_id text, p_serial text, p_pid text, p_region text, p_operator_id text, p_token_id text,
      p_channel text, p_batch_ref text, p_result text, p_reason text, p_count int, p_last_at bigint, p_method text)
    RETURNS device_logs
    LANGUAGE plpgsql VOLATILE AS $fn$
    DECLARE
      r device_logs%ROWTYPE;
    BEGIN
      IF p_result = 'FAILED' AND p_token_id IS NULL THEN
        SELECT * INTO r FROM device_logs
         WHERE dev_id = p_dev_id AND result = 'FAILED' AND token_id IS NULL AND reason IS NOT DISTINCT FROM p_reason AND method = p_method
         ORDER BY id DESC LIMIT 1 FOR UPDATE;
        IF FOUND AND p_at - r.last_at <= 600000 THEN  -- FOLD_GAP_MS of src/cloud/device-logs.ts when written
          UPDATE device_logs SET count = count + p_count, last_at = GREATEST(last_at, p_last_at) WHERE id = r.id RETURNING * INTO r;
          RETURN r;
        END IF;
      END IF;
      INSERT INTO device_logs (at, dev_id, serial, pid, region, operator_id, token_id, channel, batch_ref, result, reason, count, last_at, method)
      VALUES (p_at, p_dev_id, p_serial, p_pid, p_region, p_operator_id, p_token_id, p_channel, p_batch_ref, p_result, p_reason, p_count, p_last_at, p_method)
      RETURNING * INTO r;
      RETURN r;
    END
    $fn$;

    CREATE OR REPLACE FUNCTION device_log_append(
      p_at bigint, p_dev_id text, p_serial text, p_pid text, p_region text, p_operator_id text, p_token_id text,
      p_channel text, p_batch_ref text, p_result text, p_reason text, p_count int, p_last_at bigint)
    RETURNS device_logs
    LANGUAGE plpgsql VOLATILE AS $fn$
    BEGIN
      RETURN device_log_append(p_at, p_dev_id, p_serial, p_pid, p_region, p_operator_id, p_token_id, p_channel, p_batch_ref,
        p_result, p_reason, p_count, p_last_at, COALESCE(NULLIF(current_setting('unbind.method', true), ''), 'token'));
    END
    $fn$;
  `);
}
