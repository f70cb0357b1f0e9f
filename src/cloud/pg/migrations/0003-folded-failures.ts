import type { PoolClient } from 'pg';

/**
 * The twin of SQLite's 0002-folded-failures-flood (issue 9, "Floods fold"): repeated identical failures
 * that name no token fold into one device log row, `count` requests from `at` (the first) to `last_at`.
 * `device_log_append` is the one insert of a log row: a token-less failure folds into the device's latest
 * row of the same reason when that row's last request is at most 10 minutes old (FOLD_GAP_MS). Such rows name no token,
 * so folding never touches a token's event sequence (ids of rows naming a token are drawn as before).
 * Two nodes folding the same device at once may each start a row (the latest row is locked, a fresh one
 * cannot be): a flood then takes two rows, never loses a request from the counts.
 * `unbind_decide` is replaced (its answer gains the row's `at`, `count`, `last_at`) and appends through it.
 */
export async function up(c: PoolClient): Promise<void> {
  await c.query(`
    ALTER TABLE device_logs ADD COLUMN count INTEGER NOT NULL DEFAULT 1 CHECK (count >= 1);
    ALTER TABLE device_logs ADD COLUMN last_at BIGINT NOT NULL DEFAULT 0;
    UPDATE device_logs SET last_at = at;

    CREATE FUNCTION device_log_append(
      p_at bigint, p_dev_id text, p_serial text, p_pid text, p_region text, p_operator_id text, p_token_id text,
      p_channel text, p_batch_ref text, p_result text, p_reason text, p_count int, p_last_at bigint)
    RETURNS device_logs
    LANGUAGE plpgsql VOLATILE AS $fn$
    DECLARE
      r device_logs%ROWTYPE;
    BEGIN
      IF p_result = 'FAILED' AND p_token_id IS NULL THEN
        SELECT * INTO r FROM device_logs
         WHERE dev_id = p_dev_id AND result = 'FAILED' AND token_id IS NULL AND reason IS NOT DISTINCT FROM p_reason
         ORDER BY id DESC LIMIT 1 FOR UPDATE;
        IF FOUND AND p_at - r.last_at <= 600000 THEN  -- FOLD_GAP_MS of src/cloud/device-logs.ts when written
          UPDATE device_logs SET count = count + p_count, last_at = GREATEST(last_at, p_last_at) WHERE id = r.id RETURNING * INTO r;
          RETURN r;
        END IF;
      END IF;
      INSERT INTO device_logs (at, dev_id, serial, pid, region, operator_id, token_id, channel, batch_ref, result, reason, count, last_at)
      VALUES (p_at, p_dev_id, p_serial, p_pid, p_region, p_operator_id, p_token_id, p_channel, p_batch_ref, p_result, p_reason, p_count, p_last_at)
      RETURNING * INTO r;
      RETURN r;
    END
    $fn$;
  `);
  // 0002's decision, the same checks in the same order; only its log row is appended through device_log_append.
  await c.query(`
    DROP FUNCTION unbind_decide(text, text, bigint, text, text, text, text, text, text, text, text, int, int);
    CREATE FUNCTION unbind_decide(
      p_dev_id text, p_nonce text, p_now bigint, p_serial text, p_pid text, p_dev_region text,
      p_token_id text, p_token_region text, p_secret_hash text, p_product_refusal text,
      p_day text, p_account_limit int, p_product_limit int)
    RETURNS TABLE (o_log_id bigint, o_result text, o_reason text, o_operator_id text, o_token_id text,
                   o_channel text, o_batch_ref text, o_exhausted boolean, o_at bigint, o_count int, o_last_at bigint)
    LANGUAGE plpgsql VOLATILE AS $fn$
    #variable_conflict use_column
    DECLARE
      t tokens%ROWTYPE;
      v_has_token boolean := false;
      v_result text := 'FAILED';
      v_reason text;
      v_limit int;
      v_account_used int;
      v_product_used int;
      v_log device_logs%ROWTYPE;
    BEGIN
      -- Only a correctly signed request comes here: it burns its nonce, once, on any node (unique key).
      INSERT INTO device_nonces (dev_id, nonce, seen_at) VALUES (p_dev_id, p_nonce, p_now) ON CONFLICT DO NOTHING;
      IF NOT FOUND THEN
        v_reason := 'REPLAY';
      ELSIF p_token_id IS NULL THEN
        v_reason := 'TOKEN_INVALID';
      ELSE
        -- The token is locked first: its places, its uses and the order of its log rows (ids) follow from it.
        SELECT * INTO t FROM tokens WHERE id = p_token_id FOR NO KEY UPDATE;
        -- Hashes compared, not secrets: timing tells nothing about a secret without a preimage of its hash.
        IF NOT FOUND OR t.secret_hash <> p_secret_hash THEN
          v_reason := 'TOKEN_INVALID';
        ELSE
          v_has_token := true;
          IF t.region <> p_dev_region OR p_token_region <> t.region THEN
            v_reason := 'REGION_MISMATCH';
          ELSIF p_now >= t.expires_at THEN
            v_reason := 'TOKEN_EXPIRED';
          ELSIF EXISTS (SELECT 1 FROM token_uses u WHERE u.token_id = t.id AND u.dev_id = p_dev_id) THEN
            v_reason := 'TOKEN_REUSED';
          ELSIF t.used >= t.capacity THEN
            v_reason := 'TOKEN_EXHAUSTED';
          ELSIF p_product_refusal IS NOT NULL THEN
            v_reason := p_product_refusal;
          -- Who may unbind (DESIGN §7), as src/cloud/grants.ts: evaluated now, so a revoke stops issued tokens.
          ELSIF NOT EXISTS (
            SELECT 1 FROM products p
             WHERE p.pid = p_pid AND (
               p.owner_id = t.account_id
               OR EXISTS (SELECT 1 FROM spaces s JOIN space_members m ON m.space_id = s.id JOIN roles r ON r.id = m.role_id
                           WHERE s.owner_id = p.owner_id AND m.account_id = t.account_id AND r.can_unbind
                             AND (r.all_products OR EXISTS (SELECT 1 FROM role_products rp WHERE rp.role_id = r.id AND rp.pid = p.pid)))
               OR EXISTS (SELECT 1 FROM partner_grants g WHERE g.pid = p.pid AND g.account_id = t.account_id AND g.revoked_at IS NULL)
               OR p.oem_source_id = t.account_id)) THEN
            v_reason := 'UNAUTHORIZED';
          ELSE
            -- Locked: a second request for this device (another token, another node) waits, then finds it unbound.
            PERFORM 1 FROM bindings WHERE dev_id = p_dev_id FOR UPDATE;
            IF FOUND THEN
              -- Conditional updates: PostgreSQL re-checks used < limit on the newest committed row.
              v_limit := GREATEST(p_account_limit, COALESCE((SELECT MAX(limit_value) FROM quota_tickets
                WHERE status = 'approved' AND scope = 'account' AND requester_id = t.account_id AND from_day <= p_day AND to_day >= p_day), p_account_limit));
              IF v_limit > 0 THEN
                INSERT INTO quota_usage AS q (day, scope, key, used) VALUES (p_day, 'account', t.account_id, 1)
                ON CONFLICT (day, scope, key) DO UPDATE SET used = q.used + 1 WHERE q.used < v_limit
                RETURNING used INTO v_account_used;
              END IF;
              IF v_account_used IS NULL THEN
                v_reason := 'QUOTA_ACCOUNT';
              ELSE
                v_limit := GREATEST(p_product_limit, COALESCE((SELECT MAX(limit_value) FROM quota_tickets
                  WHERE status = 'approved' AND scope = 'product' AND pid = p_pid AND from_day <= p_day AND to_day >= p_day), p_product_limit));
                IF v_limit > 0 THEN
                  INSERT INTO quota_usage AS q (day, scope, key, used) VALUES (p_day, 'product', p_pid, 1)
                  ON CONFLICT (day, scope, key) DO UPDATE SET used = q.used + 1 WHERE q.used < v_limit
                  RETURNING used INTO v_product_used;
                END IF;
                IF v_product_used IS NULL THEN
                  -- The account's place is given back; we hold that row's lock, so nobody saw it taken.
                  UPDATE quota_usage SET used = used - 1 WHERE day = p_day AND scope = 'account' AND key = t.account_id;
                  v_reason := 'QUOTA_PRODUCT';
                ELSE
                  v_result := 'UNBOUND';
                END IF;
              END IF;
            ELSE
              v_result := 'NOT_BOUND';
            END IF;
            IF v_result <> 'FAILED' THEN
              UPDATE tokens SET used = used + 1 WHERE id = t.id AND used < capacity RETURNING used INTO t.used;
              IF NOT FOUND THEN
                RAISE EXCEPTION 'token % had no free place although it was locked with one', t.id;
              END IF;
              IF v_result = 'UNBOUND' THEN
                DELETE FROM shares WHERE dev_id = p_dev_id;
                DELETE FROM bindings WHERE dev_id = p_dev_id;
              END IF;
              INSERT INTO token_uses (token_id, dev_id) VALUES (t.id, p_dev_id);
            END IF;
          END IF;
        END IF;
      END IF;

      -- Appended through device_log_append: a token-less failure (REPLAY, TOKEN_INVALID) folds as on SQLite.
      SELECT * INTO v_log FROM device_log_append(p_now, p_dev_id, p_serial, p_pid, p_dev_region,
              CASE WHEN v_has_token THEN t.account_id END, CASE WHEN v_has_token THEN t.id END,
              CASE WHEN v_has_token THEN t.channel END, CASE WHEN v_has_token THEN t.batch_ref END,
              v_result, v_reason, 1, p_now);
      RETURN QUERY SELECT v_log.id, v_result, v_reason,
        CASE WHEN v_has_token THEN t.account_id END, CASE WHEN v_has_token THEN t.id END,
        CASE WHEN v_has_token THEN t.channel END, CASE WHEN v_has_token THEN t.batch_ref END,
        v_has_token AND t.used >= t.capacity, v_log.at, v_log.count, v_log.last_at;
    END
    $fn$;
  `);
}
