import type { PoolClient } from 'pg';

/**
 * Group commit for the device unbind on PostgreSQL (issue 10's bench): `unbind_decide_many` decides the
 * requests a node has in flight in one call, one transaction, one commit — each request its own answer,
 * in the order given, with the checks and writes of `unbind_decide` (0004, 0007), which stays for a request
 * decided alone. Output rows carry `o_idx`, the request's 1-based place in the arrays.
 *
 * Exact at READ COMMITTED for the reasons of ../pg-unbind.ts: every row whose value decides an answer is
 * locked before it is read by a later statement (so the read sees every commit before the lock). What is
 * new is that one transaction locks many rows; two nodes never deadlock because every transaction takes
 * its locks in one global order, each class sorted, and `unbind_decide` (one row of each class) follows it:
 *   1. device nonces (unique-index inserts), by (dev_id, nonce)
 *   2. tokens (FOR NO KEY UPDATE), by id
 *   3. bindings (FOR UPDATE), by dev_id
 *   4. quota rows (account, then product; locked by an ON CONFLICT that updates nothing), by key
 *   5. the latest folded failure row of a device (token-less failures), by dev_id
 * Rows written afterwards (token places, token uses, decided answers, log rows naming a token, shares and
 * bindings deleted) hang off a lock of class 2 or 3 already held, so nobody else waits for them in between.
 * Within the call the decisions are taken one after another on the locked values kept in variables (a
 * token's free places, a device still bound, the quota used, the places spent by earlier requests of the
 * call), and written back once per row at the end: a quota row is updated once per call, not once per unbind.
 * A quota row this call created only to lock it, and that is still 0 at the end, is removed again.
 * The function runs with enable_seqscan off (see there): its plans never depend on how full a table looked.
 */
export async function up(c: PoolClient): Promise<void> {
  await c.query(`
    CREATE FUNCTION unbind_decide_many(
      p_dev_ids text[], p_nonces text[], p_serials text[], p_pids text[], p_dev_regions text[],
      p_token_ids text[], p_token_regions text[], p_secret_hashes text[], p_product_refusals text[], p_methods text[],
      p_now bigint, p_day text, p_account_limit int, p_product_limit int)
    RETURNS TABLE (o_idx int, o_log_id bigint, o_result text, o_reason text, o_operator_id text, o_token_id text,
                   o_channel text, o_batch_ref text, o_exhausted boolean, o_at bigint, o_count int, o_last_at bigint, o_replayed boolean)
    LANGUAGE plpgsql VOLATILE
    -- Every lookup here is by a key with an index. A connection keeps its plans (ours and those of the
    -- foreign-key checks) for its lifetime; planned while the log, nonce or use tables were empty, they would
    -- be table scans that grow with every unbind until the next autovacuum analyse replans them.
    SET enable_seqscan = off
    AS $fn$
    #variable_conflict use_column
    DECLARE
      n int := COALESCE(array_length(p_dev_ids, 1), 0);
      i int;
      j int;
      k int;
      t tokens%ROWTYPE;
      v_seq text := pg_get_serial_sequence('device_logs', 'id');
      v_key text;
      v_fresh text[];                       -- nonces this call burnt: dev_id chr(1) nonce, claimed by the first request
      v_toks tokens[];                      -- the call's tokens, locked, with their places as decided so far
      v_tok_ids text[];
      v_bound text[];                       -- devices of the call still bound (locked)
      v_unbound text[] := '{}';
      v_uses text[];                        -- token_id chr(1) dev_id of spent places (database, then this call)
      v_uses_log bigint[];                  -- the decided answer's row, when the place was decided in the database
      v_uses_idx int[];                     -- the request that decided it, when decided in this call
      v_auth_keys text[] := '{}';
      v_auth_ok boolean[] := '{}';
      v_q_scope text[];
      v_q_key text[];
      v_q_used int[];
      v_q_used0 int[];
      v_q_limit int[];
      v_q_new text[];                       -- scope chr(1) key of quota rows this call inserted
      v_qa int;
      v_qp int;
      v_result text;
      v_reason text;
      v_log device_logs%ROWTYPE;
      -- The rows this call writes, drawn in the loop and inserted at the end.
      v_l_id bigint[] := '{}';
      v_l_i int[] := '{}';
      v_l_tok int[] := '{}';
      v_l_result text[] := '{}';
      v_l_reason text[] := '{}';
      v_out_log bigint[] := '{}';           -- per request decided in the loop: its row's id and result
      v_out_result text[] := '{}';
      v_folds int[] := '{}';                -- token-less failures, appended after the loop (lock class 5)
      v_fold_reason text[] := '{}';
    BEGIN
      IF n = 0 THEN
        RETURN;
      END IF;

      -- 1. Only correctly signed requests come here: each burns its nonce, once, on any node (unique key).
      WITH burnt AS (
        INSERT INTO device_nonces (dev_id, nonce, seen_at)
        SELECT DISTINCT d, nn, p_now FROM unnest(p_dev_ids, p_nonces) AS u(d, nn) ORDER BY d, nn
        ON CONFLICT DO NOTHING RETURNING dev_id, nonce)
      SELECT COALESCE(array_agg(b.dev_id || chr(1) || b.nonce), '{}') INTO v_fresh FROM burnt b;

      -- 2. The tokens, locked in id order; every later statement sees what committed before the locks.
      SELECT COALESCE(array_agg(x ORDER BY x.id), '{}'), COALESCE(array_agg(x.id ORDER BY x.id), '{}') INTO v_toks, v_tok_ids FROM (
        SELECT * FROM tokens WHERE id = ANY(p_token_ids) ORDER BY id FOR NO KEY UPDATE) x;

      -- 3. The bindings of the call's devices, locked in dev_id order; then the places spent on these tokens.
      SELECT COALESCE(array_agg(x.dev_id), '{}') INTO v_bound FROM (
        SELECT dev_id FROM bindings WHERE dev_id = ANY(p_dev_ids) ORDER BY dev_id FOR UPDATE) x;
      SELECT COALESCE(array_agg(u.token_id || chr(1) || u.dev_id), '{}'), COALESCE(array_agg(a.log_id), '{}') INTO v_uses, v_uses_log
        FROM token_uses u
        JOIN (SELECT DISTINCT tk, d FROM unnest(p_token_ids, p_dev_ids) AS r(tk, d)) r ON u.token_id = r.tk AND u.dev_id = r.d
        LEFT JOIN decided_answers a ON a.token_id = u.token_id AND a.dev_id = u.dev_id;
      v_uses_idx := array_fill(NULL::int, ARRAY[COALESCE(array_length(v_uses, 1), 0)]);

      -- 4. The quota rows of the call's accounts and products, locked in (scope, key) order ('account' < 'product'):
      --    a missing row is inserted at 0 to be locked, an existing one locked and left as it is.
      SELECT COALESCE(array_agg(x.s ORDER BY x.s, x.kk), '{}'), COALESCE(array_agg(x.kk ORDER BY x.s, x.kk), '{}') INTO v_q_scope, v_q_key FROM (
        SELECT 'account' AS s, tk.account_id AS kk FROM unnest(v_toks) AS tk
        UNION SELECT 'product', pp FROM unnest(p_pids) AS pp WHERE pp IS NOT NULL) x;
      WITH made AS (
        INSERT INTO quota_usage AS q (day, scope, key, used)
        SELECT p_day, s, kk, 0 FROM unnest(v_q_scope, v_q_key) WITH ORDINALITY AS x(s, kk, ord) ORDER BY ord
        ON CONFLICT (day, scope, key) DO UPDATE SET used = q.used WHERE false
        RETURNING q.scope, q.key)
      SELECT COALESCE(array_agg(m.scope || chr(1) || m.key), '{}') INTO v_q_new FROM made m;
      -- The used places, and the day's limits (an approved ticket raises one), read after the locks.
      SELECT COALESCE(array_agg(q.used ORDER BY x.ord), '{}'),
             COALESCE(array_agg(CASE WHEN x.s = 'account'
               THEN GREATEST(p_account_limit, COALESCE((SELECT MAX(limit_value) FROM quota_tickets
                 WHERE status = 'approved' AND scope = 'account' AND requester_id = x.kk AND from_day <= p_day AND to_day >= p_day), p_account_limit))
               ELSE GREATEST(p_product_limit, COALESCE((SELECT MAX(limit_value) FROM quota_tickets
                 WHERE status = 'approved' AND scope = 'product' AND pid = x.kk AND from_day <= p_day AND to_day >= p_day), p_product_limit))
               END ORDER BY x.ord), '{}')
        INTO v_q_used0, v_q_limit
        FROM unnest(v_q_scope, v_q_key) WITH ORDINALITY AS x(s, kk, ord)
        JOIN quota_usage q ON q.day = p_day AND q.scope = x.s AND q.key = x.kk;
      v_q_used := v_q_used0;

      -- The decisions, in the order given, as unbind_decide takes them, on the locked values.
      FOR i IN 1 .. n LOOP
        v_result := 'FAILED';
        v_reason := NULL;
        j := NULL;
        v_key := p_dev_ids[i] || chr(1) || p_nonces[i];
        IF NOT (v_key = ANY(v_fresh)) THEN
          v_reason := 'REPLAY';
        ELSE
          v_fresh := array_remove(v_fresh, v_key);
          IF p_token_ids[i] IS NULL THEN
            v_reason := 'TOKEN_INVALID';
          ELSE
            j := array_position(v_tok_ids, p_token_ids[i]);
            IF j IS NULL OR (v_toks[j]).secret_hash <> p_secret_hashes[i] THEN
              -- Hashes compared, not secrets: timing tells nothing about a secret without a preimage of its hash.
              v_reason := 'TOKEN_INVALID';
              j := NULL;
            END IF;
          END IF;
        END IF;
        IF j IS NULL THEN
          -- Names no token: folds as on SQLite, appended after the loop.
          v_folds := v_folds || i;
          v_fold_reason := v_fold_reason || v_reason;
          CONTINUE;
        END IF;

        t := v_toks[j];
        v_key := t.id || chr(1) || p_dev_ids[i];
        k := NULL;
        IF t.region <> p_dev_regions[i] OR p_token_regions[i] <> t.region THEN
          v_reason := 'REGION_MISMATCH';
        ELSE
          k := array_position(v_uses, v_key);
        END IF;
        IF v_reason IS NOT NULL THEN
          NULL;
        -- A retry that lost its answer, even past expiry or once the token is used up, is told what was decided
        -- (by an earlier transaction or earlier in this call); a device bound again since is making another use.
        ELSIF k IS NOT NULL AND (v_uses_log[k] IS NOT NULL OR v_uses_idx[k] IS NOT NULL) AND NOT (p_dev_ids[i] = ANY(v_bound)) THEN
          o_idx := i;
          o_replayed := true;
          o_exhausted := t.used >= t.capacity;
          IF v_uses_idx[k] IS NOT NULL THEN
            o_log_id := v_out_log[v_uses_idx[k]];
            o_result := v_out_result[v_uses_idx[k]];
            o_reason := NULL;
            o_operator_id := t.account_id;
            o_token_id := t.id;
            o_channel := t.channel;
            o_batch_ref := t.batch_ref;
            o_at := p_now;
            o_count := 1;
            o_last_at := p_now;
          ELSE
            SELECT * INTO v_log FROM device_logs WHERE id = v_uses_log[k];
            o_log_id := v_log.id;
            o_result := v_log.result;
            o_reason := v_log.reason;
            o_operator_id := v_log.operator_id;
            o_token_id := v_log.token_id;
            o_channel := v_log.channel;
            o_batch_ref := v_log.batch_ref;
            o_at := v_log.at;
            o_count := v_log.count;
            o_last_at := v_log.last_at;
          END IF;
          RETURN NEXT;
          CONTINUE;
        ELSIF k IS NOT NULL THEN
          v_reason := 'TOKEN_REUSED';
        ELSIF p_now >= t.expires_at THEN
          v_reason := 'TOKEN_EXPIRED';
        ELSIF t.used >= t.capacity THEN
          v_reason := 'TOKEN_EXHAUSTED';
        ELSIF p_product_refusals[i] IS NOT NULL THEN
          v_reason := p_product_refusals[i];
        ELSE
          -- Who may unbind (DESIGN §7), as src/cloud/grants.ts: read now, once per account and product in the call.
          v_key := t.account_id || chr(1) || p_pids[i];
          k := array_position(v_auth_keys, v_key);
          IF k IS NULL THEN
            v_auth_keys := v_auth_keys || v_key;
            v_auth_ok := v_auth_ok || EXISTS (
              SELECT 1 FROM products p
               WHERE p.pid = p_pids[i] AND (
                 p.owner_id = t.account_id
                 OR EXISTS (SELECT 1 FROM spaces s JOIN space_members m ON m.space_id = s.id JOIN roles r ON r.id = m.role_id
                             WHERE s.owner_id = p.owner_id AND m.account_id = t.account_id AND r.can_unbind
                               AND (r.all_products OR EXISTS (SELECT 1 FROM role_products rp WHERE rp.role_id = r.id AND rp.pid = p.pid)))
                 OR EXISTS (SELECT 1 FROM partner_grants g WHERE g.pid = p.pid AND g.account_id = t.account_id AND g.revoked_at IS NULL)
                 OR p.oem_source_id = t.account_id));
            k := array_length(v_auth_keys, 1);
          END IF;
          IF NOT v_auth_ok[k] THEN
            v_reason := 'UNAUTHORIZED';
          ELSIF p_dev_ids[i] = ANY(v_bound) THEN
            -- The quota rows are locked: a place is taken only while used < limit, on the newest values.
            v_qa := NULL;
            v_qp := NULL;
            FOR k IN 1 .. array_length(v_q_key, 1) LOOP
              IF v_q_scope[k] = 'account' AND v_q_key[k] = t.account_id THEN v_qa := k; END IF;
              IF v_q_scope[k] = 'product' AND v_q_key[k] = p_pids[i] THEN v_qp := k; END IF;
            END LOOP;
            IF v_qa IS NULL OR v_qp IS NULL THEN
              RAISE EXCEPTION 'quota rows of % and % were not locked', t.account_id, p_pids[i];
            END IF;
            IF v_q_used[v_qa] >= v_q_limit[v_qa] THEN
              v_reason := 'QUOTA_ACCOUNT';
            ELSIF v_q_used[v_qp] >= v_q_limit[v_qp] THEN
              v_reason := 'QUOTA_PRODUCT';
            ELSE
              v_q_used[v_qa] := v_q_used[v_qa] + 1;
              v_q_used[v_qp] := v_q_used[v_qp] + 1;
              v_result := 'UNBOUND';
              v_bound := array_remove(v_bound, p_dev_ids[i]);
              v_unbound := v_unbound || p_dev_ids[i];
            END IF;
          ELSE
            v_result := 'NOT_BOUND';
          END IF;
        END IF;

        IF v_result <> 'FAILED' THEN
          t.used := t.used + 1;
          v_toks[j] := t;
        END IF;
        -- The row's id is drawn here, under the token's lock: per token, id order is commit order (pg-token-feed.ts).
        o_log_id := nextval(v_seq);
        v_l_id := v_l_id || o_log_id;
        v_l_i := v_l_i || i;
        v_l_tok := v_l_tok || j;
        v_l_result := v_l_result || v_result;
        v_l_reason := v_l_reason || v_reason;
        v_out_log[i] := o_log_id;
        v_out_result[i] := v_result;
        IF v_result <> 'FAILED' THEN
          v_uses := v_uses || (t.id || chr(1) || p_dev_ids[i]);
          v_uses_log := v_uses_log || NULL::bigint;
          v_uses_idx := v_uses_idx || i;
        END IF;
        o_idx := i;
        o_result := v_result;
        o_reason := v_reason;
        o_operator_id := t.account_id;
        o_token_id := t.id;
        o_channel := t.channel;
        o_batch_ref := t.batch_ref;
        o_exhausted := t.used >= t.capacity;
        o_at := p_now;
        o_count := 1;
        o_last_at := p_now;
        o_replayed := false;
        RETURN NEXT;
      END LOOP;

      -- The writes, once per row: the log rows, places, uses and decided answers (in one transaction: never one
      -- without the other), the devices unbound, the quota.
      IF array_length(v_l_id, 1) > 0 THEN
        INSERT INTO device_logs (id, at, dev_id, serial, pid, region, operator_id, token_id, channel, batch_ref, result, reason, count, last_at, method)
        OVERRIDING SYSTEM VALUE
        SELECT x.id, p_now, p_dev_ids[x.i], p_serials[x.i], p_pids[x.i], p_dev_regions[x.i], (v_toks[x.j]).account_id, (v_toks[x.j]).id,
               (v_toks[x.j]).channel, (v_toks[x.j]).batch_ref, x.r, x.why, 1, p_now, COALESCE(p_methods[x.i], 'token')
          FROM unnest(v_l_id, v_l_i, v_l_tok, v_l_result, v_l_reason) AS x(id, i, j, r, why) ORDER BY x.id;
        UPDATE tokens SET used = x.used FROM unnest(v_toks) AS x WHERE tokens.id = x.id AND tokens.used <> x.used;
        INSERT INTO token_uses (token_id, dev_id)
          SELECT (v_toks[x.j]).id, p_dev_ids[x.i] FROM unnest(v_l_i, v_l_tok, v_l_result) AS x(i, j, r) WHERE x.r <> 'FAILED';
        INSERT INTO decided_answers (token_id, dev_id, result, log_id, decided_at)
          SELECT (v_toks[x.j]).id, p_dev_ids[x.i], x.r, x.id, p_now FROM unnest(v_l_id, v_l_i, v_l_tok, v_l_result) AS x(id, i, j, r) WHERE x.r <> 'FAILED';
      END IF;
      IF array_length(v_unbound, 1) > 0 THEN
        DELETE FROM shares WHERE dev_id = ANY(v_unbound);
        DELETE FROM bindings WHERE dev_id = ANY(v_unbound);
      END IF;
      FOR k IN 1 .. COALESCE(array_length(v_q_key, 1), 0) LOOP
        IF v_q_used[k] <> v_q_used0[k] THEN
          UPDATE quota_usage SET used = v_q_used[k] WHERE day = p_day AND scope = v_q_scope[k] AND key = v_q_key[k];
        ELSIF v_q_used[k] = 0 AND (v_q_scope[k] || chr(1) || v_q_key[k]) = ANY(v_q_new) THEN
          DELETE FROM quota_usage WHERE day = p_day AND scope = v_q_scope[k] AND key = v_q_key[k];
        END IF;
      END LOOP;

      -- 5. Token-less failures fold into the device's latest such row, devices in dev_id order.
      IF array_length(v_folds, 1) > 0 THEN
        FOR k IN SELECT f.ord FROM unnest(v_folds) WITH ORDINALITY AS f(idx, ord) ORDER BY p_dev_ids[f.idx], f.ord LOOP
          i := v_folds[k];
          SELECT * INTO v_log FROM device_log_append(p_now, p_dev_ids[i], p_serials[i], p_pids[i], p_dev_regions[i],
            NULL, NULL, NULL, NULL, 'FAILED', v_fold_reason[k], 1, p_now, COALESCE(p_methods[i], 'token'));
          o_idx := i;
          o_log_id := v_log.id;
          o_result := 'FAILED';
          o_reason := v_fold_reason[k];
          o_operator_id := NULL;
          o_token_id := NULL;
          o_channel := NULL;
          o_batch_ref := NULL;
          o_exhausted := false;
          o_at := v_log.at;
          o_count := v_log.count;
          o_last_at := v_log.last_at;
          o_replayed := false;
          RETURN NEXT;
        END LOOP;
      END IF;
    END
    $fn$;
  `);
}
