import { adminProof, deriveAdminKey, type BatchView, type StationEvent } from '../protocol/index.js';
import type { LocalUnbindDeviceView, StartLocalUnbindRequest } from '../protocol/station-api/lan.js';
import { createDeviceApiClient, unbindOverLan, type DeviceApiClient, type LanSweep, type LanUnbindTarget } from '../wired/index.js';
import type { BatchService, OperatorSession } from './batch-service.js';
import { mayStillReport, settleDevice } from './device-outcomes.js';
import { codeIndexForDevice } from '../qr/index.js';
import { StationError } from '../protocol/station-api/refusals.js';

/**
 * The local unbind of DESIGN §4.8, station side: devices on the bench LAN that are bound, online and not
 * reset (seen by SADP, or advertising) are unbound with their admin password, typed once for the
 * selection. Per device: `GET /info` (its salt), plan and tokens as a wired batch, then a fresh
 * `GET /info` challenge, the proof, `POST /unbind-local`; the device makes the signed request itself.
 *
 * The password is held as a Buffer for the batch only: one PBKDF2 per distinct salt, then every key and
 * the password's bytes are overwritten when the batch is done. It is never logged, stored or sent: only
 * proofs cross the LAN.
 */
export interface LocalUnbindDeps {
  batches: BatchService;
  sweep: LanSweep;
  emit: (e: StationEvent) => void;
  client?: DeviceApiClient;
  log?: (msg: string, f?: Record<string, unknown>) => void;
  /** What each local-unbind batch's devices told beyond their code (attempts left, unlock time), kept in memory. */
  details: Map<string, LocalUnbindDeviceView[]>;
}

/** Where a LAN entry's local API is, or why there is none. */
function endpointOf(sweep: LanSweep, key: string): { address: string; port: number } {
  const d = sweep.device(key);
  if (!d) throw new StationError(409, 'DEVICE_GONE', `${key} is no longer on the LAN: refresh the sweep`);
  if (d.problem?.code === 'DHCP_FAILED' || d.address === '0.0.0.0' || d.port === null) {
    throw new StationError(409, 'DEVICE_GONE', `${key} has no address to reach: ${d.problem?.hint ?? 'no local API port'}`);
  }
  return { address: d.address, port: d.port };
}

export async function startLocalUnbind(deps: LocalUnbindDeps, session: OperatorSession, req: StartLocalUnbindRequest): Promise<BatchView> {
  const { batches, sweep, emit } = deps;
  const client = deps.client ?? createDeviceApiClient();
  const keys = [...new Set(req.keys)];
  const endpoints = keys.map((k) => endpointOf(sweep, k));
  // The devices say who they are (and their salt) before anything is planned: a SADP entry names no devId or product.
  const infos = await Promise.all(
    endpoints.map(async (at, i) => {
      const r = await client.info(at);
      if (!r.ok) throw new StationError(409, 'DEVICE_GONE', `${keys[i]} does not answer at ${at.address}:${at.port}: ${r.detail}`);
      return r.value;
    }),
  );
  const seen = new Set<string>();
  for (const info of infos) {
    if (seen.has(info.devId)) throw new StationError(400, 'BAD_REQUEST', `device ${info.devId} is selected twice`);
    seen.add(info.devId);
  }
  const { batchId, tokens } = await batches.startDeviceBatch(session, { method: 'wired', pids: infos.map((d) => d.pid), manifest: null });
  const password = Buffer.from(req.adminPassword, 'utf8');
  const tokenOf = new Map(infos.map((d, i) => [d.devId, tokens[codeIndexForDevice(i)]!]));
  const keysBySalt = new Map<string, Promise<Buffer>>();
  const proofFor = async (salt: string, challenge: string): Promise<string> => {
    let key = keysBySalt.get(salt);
    if (!key) keysBySalt.set(salt, (key = deriveAdminKey(password, salt)));
    return adminProof(await key, challenge);
  };
  const forget = async (): Promise<void> => {
    const derived = await Promise.allSettled(keysBySalt.values());
    for (const k of derived) if (k.status === 'fulfilled') k.value.fill(0);
    keysBySalt.clear();
    password.fill(0);
  };
  const details: LocalUnbindDeviceView[] = infos.map((d) => ({ devId: d.devId, serial: d.sn, pid: d.pid, attemptsLeft: null, unlockAt: null }));
  deps.details.set(batchId, details);

  void (async () => {
    const targets: LanUnbindTarget[] = infos.map((d, i) => ({ devId: d.devId, ...endpoints[i]!, expectedSerial: d.sn }));
    const accepted = new Set<string>();
    let lastReportAt: number | undefined;
    let outcomes;
    try {
      outcomes = await unbindOverLan(targets, (t) => tokenOf.get(t.devId)!.token, {
        client,
        sweep,
        local: { proofFor },
        reported: async (t, signal) => {
          const r = await batches.waitForResult(batchId, t.devId, signal);
          if (r) lastReportAt = Date.now();
          return r && { result: r.result, ...(r.code ? { code: r.code } : {}), detail: 'reported by the authority' };
        },
        lastReportAt: () => lastReportAt,
        onProgress: (p) => {
          if (p.stage === 'unbinding') accepted.add(p.devId);
          emit({ type: 'progress', progress: { batchId, devId: p.devId, stage: p.stage } });
        },
      });
    } finally {
      await forget();
    }
    const byId = new Map(infos.map((d) => [d.devId, d]));
    for (const o of outcomes) {
      const view = details.find((d) => d.devId === o.devId)!;
      if (o.attemptsLeft !== undefined) view.attemptsLeft = o.attemptsLeft;
      if (o.unlockAt) view.unlockAt = o.unlockAt;
    }
    await Promise.all(
      outcomes.map((o) => {
        if (o.reported) return;
        const d = byId.get(o.devId)!;
        return settleDevice(batches, batchId, { devId: o.devId, serial: d.sn, pid: d.pid, result: o.result ?? 'FAILED', code: o.code ?? null, tokenId: tokenOf.get(o.devId)!.tokenId });
      }),
    );
    await batches.closeCodes(batchId, { devicesMayStillReport: outcomes.some((o) => mayStillReport(o.code, accepted.has(o.devId))) });
  })().catch((err: Error) => deps.log?.('local unbind batch failed', { batchId, error: err.message }));

  return batches.get(batchId);
}
