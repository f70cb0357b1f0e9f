import type { PoolClient } from 'pg';

/**
 * The twin of SQLite's 0003-decided-answers (issue 9, "Answers stay decided"): a device that lost the
 * answer to its unbind and asks again (same devId and token, new nonce) is told what was decided
 * (`o_replayed`, the deciding row), and a station's Idempotency-Key for POST /unbind-tokens is kept with
 * the token it issued. `decided_answers` is written in the unbind's own transaction and read under the
 * token's lock, so a retry on another node waits for the first decision's commit and then finds it.
 * `unbind_decide` is replaced: the checks in the order of src/cloud/unbind.ts now (the decided answer
 * and TOKEN_REUSED come before expiry and exhaustion).
 */
export async function up(c: PoolClient): Promise<void> {
  await c.query(`
    CREATE TABLE decided_answers (
      token_id    TEXT NOT NULL REFERENCES tokens(id),
      dev_id      TEXT NOT NULL,
      result      TEXT NOT NULL CHECK (result IN ('UNBOUND', 'NOT_BOUND')),
      log_id      BIGINT NOT NULL REFERENCES device_logs(id),
      decided_at  BIGINT NOT NULL,
      PRIMARY KEY (token_id, dev_id)
    );
    -- Places spent before this migration were decided too: their first UNBOUND / NOT_BOUND row says how.
    INSERT INTO decided_answers (token_id, dev_id, result, log_id, decided_at)
      SELECT u.token_id, u.dev_id, l.result, l.id, l.at
        FROM token_uses u
        JOIN device_logs l ON l.id = (
          SELECT MIN(id) FROM device_logs
           WHERE token_id = u.token_id AND dev_id = u.dev_id AND result IN ('UNBOUND', 'NOT_BOUND'));

    CREATE TABLE token_issue_keys (
      account_id    TEXT NOT NULL REFERENCES accounts(id),
      key           TEXT NOT NULL,
      request_hash  TEXT NOT NULL,            -- SHA-256 of the request as checked: the same key with another body is refused
      token_id      TEXT NOT NULL REFERENCES tokens(id),
      token_enc     TEXT NOT NULL,            -- the full token, AES-256-GCM under the master key (beside the node)
      created_at    BIGINT NOT NULL,
      PRIMARY KEY (account_id, key)
    );
  `);
  await c.query(`
    DROP FUNCTION unbind_decide(text, text, bigint, text, text, text, text, text, text, text, text, int, int);
    CREATE FUNCTION unbind_decide(
      p_dev_id text, p_nonce text, p_now bigint, p_serial text, p_pid text, p_dev_region text,
      p_token_id text, p_token_region text, p_secret_hash text, p_product_refusal text,
      p_day text, p_account_limit int, p_product_limit int)
    RETURNS TABLE (o_log_id bigint, o_result text, o_reason text, o_operator_id text, o_token_id text,
                   o_channel text, o_batch_ref text, o_exhausted boolean, o_at bigint, o_count int, o_last_at bigint, o_replayed boolean)
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
      v_decided decided_answers%ROWTYPE;
      v_spent boolean := false;
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
          ELSE
            -- Read under the token lock: a decision of this device and token on another node has committed.
            SELECT * INTO v_decided FROM decided_answers WHERE token_id = t.id AND dev_id = p_dev_id;
          END IF;
          IF v_reason IS NOT NULL THEN
            NULL;
          -- A retry that lost its answer, even past expiry or once the token is used up, is told what was
          -- decided; a device bound again since then is making a different use of its spent place.
          ELSIF v_decided.log_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM bindings WHERE dev_id = p_dev_id) THEN
            SELECT * INTO v_log FROM device_logs WHERE id = v_decided.log_id;
            RETURN QUERY SELECT v_log.id, v_log.result, v_log.reason, v_log.operator_id, v_log.token_id, v_log.channel,
              v_log.batch_ref, t.used >= t.capacity, v_log.at, v_log.count, v_log.last_at, true;
            RETURN;
          ELSIF v_decided.log_id IS NOT NULL OR EXISTS (SELECT 1 FROM token_uses u WHERE u.token_id = t.id AND u.dev_id = p_dev_id) THEN
            v_reason := 'TOKEN_REUSED';
          ELSIF p_now >= t.expires_at THEN
            v_reason := 'TOKEN_EXPIRED';
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
            v_spent := v_result <> 'FAILED';
          END IF;
        END IF;
      END IF;

      -- Appended through device_log_append: a token-less failure (REPLAY, TOKEN_INVALID) folds as on SQLite.
      SELECT * INTO v_log FROM device_log_append(p_now, p_dev_id, p_serial, p_pid, p_dev_region,
              CASE WHEN v_has_token THEN t.account_id END, CASE WHEN v_has_token THEN t.id END,
              CASE WHEN v_has_token THEN t.channel END, CASE WHEN v_has_token THEN t.batch_ref END,
              v_result, v_reason, 1, p_now);
      -- The place is spent and the decision kept in the same transaction: no commit has one without the other.
      IF v_spent THEN
        INSERT INTO decided_answers (token_id, dev_id, result, log_id, decided_at) VALUES (t.id, p_dev_id, v_result, v_log.id, p_now);
      END IF;
      RETURN QUERY SELECT v_log.id, v_result, v_reason,
        CASE WHEN v_has_token THEN t.account_id END, CASE WHEN v_has_token THEN t.id END,
        CASE WHEN v_has_token THEN t.channel END, CASE WHEN v_has_token THEN t.batch_ref END,
        v_has_token AND t.used >= t.capacity, v_log.at, v_log.count, v_log.last_at, false;
    END
    $fn$;
  `);
}
