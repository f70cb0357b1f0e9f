import type { ProductView } from '../../protocol/cloud-api.js';
import { ssidProblemOf, wifiPasswordProblemOf, type SsidProblem, type WifiPasswordProblem } from '../../protocol/qr-payload.js';
import { checkSerialLabel, type SerialLabelProblem } from '../../protocol/serial-format.js';
import type { BatchPlan, PlanRequest } from '../../protocol/station-api.js';

/**
 * The new QR batch form, checked as the clerk types: each field's problem (a kind the view says in its
 * language, beside the field), the request it makes when every field is right, and why Start is not
 * available yet — never a greyed-out button without a reason.
 */
export interface QrBatchDraft {
  pid: string;
  mode: 'count' | 'manifest';
  count: number | string;
  manifestText: string;
  ssid: string;
  password: string;
}

export type ManifestLine = { line: number; text: string } & ({ kind: SerialLabelProblem['kind']; format?: string } | { kind: 'duplicate' });

export interface QrBatchFormCheck {
  fields: {
    pid?: 'required' | 'not-unbindable';
    count?: 'required' | 'whole-number' | 'too-small' | 'too-big';
    manifest?: 'empty' | 'bad-lines' | 'too-many';
    ssid?: SsidProblem['kind'];
    password?: WifiPasswordProblem['kind'];
  };
  /** Manifest lines that are not serials of the product (line numbers from 1), for the list beside it. */
  manifestLines: ManifestLine[];
  /** The serials of the manifest, in order, each once. */
  serials: string[];
  /** The plan request of a form whose product and devices are right (the Wi-Fi is not in a plan). */
  request: PlanRequest | null;
}

export const MAX_BATCH_DEVICES = 10_000;

export function checkQrBatchForm(d: QrBatchDraft, products: readonly ProductView[]): QrBatchFormCheck {
  const fields: QrBatchFormCheck['fields'] = {};
  const product = products.find((p) => p.pid === d.pid) ?? null;
  if (!d.pid) fields.pid = 'required';
  else if (!product || !product.unbindSupported) fields.pid = 'not-unbindable';

  const manifestLines: ManifestLine[] = [];
  const serials: string[] = [];
  let devices: PlanRequest | null = null;
  if (d.mode === 'count') {
    const raw = String(d.count).trim();
    const n = Number(raw);
    if (!raw) fields.count = 'required';
    else if (!Number.isInteger(n)) fields.count = 'whole-number';
    else if (n < 1) fields.count = 'too-small';
    else if (n > MAX_BATCH_DEVICES) fields.count = 'too-big';
    else devices = { method: 'qr', pid: d.pid, deviceCount: n };
  } else {
    const seen = new Set<string>();
    d.manifestText.split(/\r?\n/).forEach((raw, i) => {
      const text = raw.trim();
      if (!text) return;
      const problem = checkSerialLabel(text, product?.serialFormat ?? null);
      const shown = text.length > 60 ? `${text.slice(0, 60)}…` : text;
      if (problem) manifestLines.push({ line: i + 1, text: shown, ...problem });
      else if (seen.has(text)) manifestLines.push({ line: i + 1, text, kind: 'duplicate' });
      else {
        seen.add(text);
        serials.push(text);
      }
    });
    if (manifestLines.length) fields.manifest = 'bad-lines';
    else if (!serials.length) fields.manifest = 'empty';
    else if (serials.length > MAX_BATCH_DEVICES) fields.manifest = 'too-many';
    else devices = { method: 'qr', pid: d.pid, manifest: serials };
  }

  const ssid = ssidProblemOf(d.ssid);
  if (ssid) fields.ssid = ssid.kind;
  const password = wifiPasswordProblemOf(d.password);
  if (password) fields.password = password.kind;

  return { fields, manifestLines, serials, request: fields.pid ? null : devices };
}

/** Why "Check plan" cannot run now; null when it can. */
export type PlanBlocker = 'product' | 'devices' | 'planning';
export function planBlocker(check: QrBatchFormCheck, planning: boolean): PlanBlocker | null {
  if (check.fields.pid) return 'product';
  if (!check.request) return 'devices';
  return planning ? 'planning' : null;
}

/** Why "Start batch" cannot run now, in the order the clerk fixes them; null when it can. */
export type StartBlocker = 'form' | 'wifi' | 'no-plan' | 'plan-refused' | 'planning' | 'starting';
export function startBlocker(check: QrBatchFormCheck, plan: BatchPlan | null, state: { planning: boolean; starting: boolean }): StartBlocker | null {
  if (!check.request) return 'form';
  if (check.fields.ssid || check.fields.password) return 'wifi';
  if (state.starting) return 'starting';
  if (state.planning) return 'planning';
  if (!plan) return 'no-plan';
  if (!plan.ok) return 'plan-refused';
  return null;
}

