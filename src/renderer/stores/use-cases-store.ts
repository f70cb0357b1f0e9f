import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import type { CasePhotoView, CaseRejectCode, CaseView, FileCaseRequest, StationError } from '../../protocol/station-api.js';
import { useStationApi } from '../app/station-context.js';
import { runStationCall } from './run-station-call.js';

/**
 * Cases (DESIGN §4.10): the cases this account sees (its own, or all on its products for an owner), the
 * form a verified installer files one with, and the owner's decisions. A state change arrives as a
 * `case` event (the station polls the authority while a case is open); the list keeps the newest first.
 */
export type CaseForm = {
  kind: FileCaseRequest['kind'];
  serial: string;
  /** The label photo as read from the chosen file: base64 of its bytes. */
  labelPhoto: string | null;
  photoName: string | null;
  resetRequest: string;
  note: string;
};
const EMPTY_FORM: CaseForm = { kind: 'unbind', serial: '', labelPhoto: null, photoName: null, resetRequest: '', note: '' };

export const useCasesStore = defineStore('cases', () => {
  const api = useStationApi();
  const items = ref<CaseView[]>([]);
  const loading = ref(false);
  const filing = ref(false);
  const deciding = ref<string | null>(null);
  const error = ref<StationError | null>(null);
  const fileError = ref<StationError | null>(null);
  const form = ref<CaseForm>({ ...EMPTY_FORM });
  const photos = ref<Record<string, CasePhotoView>>({});
  const lastFiled = ref<string | null>(null);

  const pending = computed(() => items.value.filter((c) => c.state === 'submitted'));

  function apply(c: CaseView): void {
    const at = items.value.findIndex((x) => x.id === c.id);
    if (at >= 0) items.value.splice(at, 1, c);
    else items.value.unshift(c);
  }

  async function load(): Promise<void> {
    const page = await runStationCall(() => api.listCases({ limit: 200 }), { busy: loading, error });
    if (page.ok) items.value = page.value.items;
  }

  async function file(): Promise<boolean> {
    const f = form.value;
    if (!f.labelPhoto) return false;
    const serial = f.serial.trim();
    const req: FileCaseRequest = {
      kind: f.kind,
      labelPhoto: f.labelPhoto,
      serial,
      ...(f.kind === 'password-reset' ? { resetRequest: f.resetRequest.trim() } : {}),
      ...(f.note.trim() ? { note: f.note.trim() } : {}),
    };
    const r = await runStationCall(() => api.fileCase(req), { busy: filing, error: fileError });
    if (!r.ok) return false;
    apply(r.value);
    lastFiled.value = r.value.id;
    form.value = { ...EMPTY_FORM, kind: f.kind };
    return true;
  }

  async function approve(id: string, note?: string): Promise<void> {
    deciding.value = id;
    const r = await runStationCall(() => api.approveCase(id, note || undefined), { error });
    deciding.value = null;
    if (r.ok) apply(r.value);
  }

  async function reject(id: string, reason: CaseRejectCode, note?: string): Promise<void> {
    deciding.value = id;
    const r = await runStationCall(() => api.rejectCase(id, reason, note || undefined), { error });
    deciding.value = null;
    if (r.ok) apply(r.value);
  }

  async function openPhoto(id: string): Promise<void> {
    if (photos.value[id]) return;
    const r = await runStationCall(() => api.getCasePhoto(id), { error });
    if (r.ok) photos.value = { ...photos.value, [id]: r.value };
  }

  /** A scanned label (no batch took it) fills the serial of the form. */
  function applyLabel(batchId: string | null, label: string): void {
    if (batchId === null) form.value = { ...form.value, serial: label };
  }

  function clear(): void {
    items.value = [];
    photos.value = {};
    error.value = null;
    fileError.value = null;
    lastFiled.value = null;
    form.value = { ...EMPTY_FORM };
  }

  return { items, pending, loading, filing, deciding, error, fileError, form, photos, lastFiled, load, file, approve, reject, openPhoto, applyCase: apply, applyLabel, clear };
});
