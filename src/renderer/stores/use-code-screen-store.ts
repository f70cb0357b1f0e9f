import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import { StationRefusal, type BatchCodeView, type StationError } from '../../protocol/station-api.js';
import { useStationApi } from '../app/station-context.js';
import { runStationCall } from './run-station-call.js';
import { useCurrentBatchStore } from './use-current-batch-store.js';
import { currentLocale } from '../i18n/index.js';

/** What a code image holds: a `data:` URL of the station's SVG, or why it could not be had. */
export type CodeImage = { state: 'loading' } | { state: 'ready'; url: string } | { state: 'error'; error: StationError };

/** The SVG as an image URL: shown through <img>, the markup can run nothing. */
export function svgToDataUrl(svg: string): string {
  return `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`;
}

/**
 * The QR code screen: the codes of every running QR batch (two QR batches for two products are shown
 * side by side), each code's image, which codes are on screen (the station mirrors them for the virtual
 * bench's cameras, per batch: showing one batch's codes never hides another's), the print sheet, and
 * the Wi-Fi typed again to draw codes after a station restart. Images of a batch are dropped when it ends.
 */
export const useCodeScreenStore = defineStore('code-screen', () => {
  const api = useStationApi();
  const batch = useCurrentBatchStore();

  /** Per batch, per token: a code's image. */
  const images = ref<Record<string, Record<string, CodeImage>>>({});
  const error = ref<StationError | null>(null);

  const codeImages = computed<Record<string, CodeImage>>(() => (batch.current ? (images.value[batch.current.id] ?? {}) : {}));
  /** After a station restart the codes cannot be drawn until the operator types the Wi-Fi password again. */
  const codesLocked = computed(() => lockedFor(batch.current?.id ?? null));
  function lockedFor(batchId: string | null): boolean {
    return !!batchId && Object.values(images.value[batchId] ?? {}).some((i) => i.state === 'error' && i.error.code === StationRefusal.CODES_LOCKED);
  }

  function setImage(batchId: string, tokenId: string, image: CodeImage): void {
    // Only batches still followed keep images: an ended one shows no code again.
    const live = new Set(batch.runningQrBatches.map((b) => b.id).concat(batch.current ? [batch.current.id] : []));
    const kept = Object.fromEntries(Object.entries(images.value).filter(([id]) => live.has(id) || id === batchId));
    images.value = { ...kept, [batchId]: { ...(kept[batchId] ?? {}), [tokenId]: image } };
  }

  /** Draws a code of a batch (the current one unless named). */
  async function loadCodeImage(code: BatchCodeView, batchId: string | null = batch.current?.id ?? null): Promise<void> {
    const id = batchId;
    if (!id) return;
    const existing = images.value[id]?.[code.tokenId];
    if (existing && existing.state !== 'error') return;
    setImage(id, code.tokenId, { state: 'loading' });
    const drawn = await runStationCall(() => api.getCodeSvg(id, code.index));
    const image: CodeImage = drawn.ok ? { state: 'ready', url: svgToDataUrl(drawn.value) } : { state: 'error', error: drawn.error };
    setImage(id, code.tokenId, image);
  }

  function codeImage(code: BatchCodeView, batchId: string | null = batch.current?.id ?? null): CodeImage | null {
    return (batchId ? images.value[batchId]?.[code.tokenId] : undefined) ?? null;
  }

  /** Gives the station the Wi-Fi again (it never stores the password); the codes can then be drawn. */
  async function unlockCodes(wifi: { ssid: string; password: string }): Promise<boolean> {
    const id = batch.current?.id;
    const ok = await batch.updateCurrent((bid) => api.unlockCodes(bid, wifi), { busy: true });
    // Codes that failed to draw while locked are drawn again.
    if (ok && id) images.value = { ...images.value, [id]: Object.fromEntries(Object.entries(images.value[id] ?? {}).filter(([, i]) => i.state !== 'error')) };
    return ok;
  }

  async function printSheet(batchId: string | null = batch.current?.id ?? null): Promise<string | null> {
    const id = batchId;
    if (!id) return null;
    const sheet = await runStationCall(() => api.getPrintSheet(id, { locale: currentLocale() }), { error });
    return sheet.ok ? sheet.value : null;
  }

  /** Tells the station which codes of a batch (the current one unless named) are on screen. */
  async function showOnScreen(codeIndexes: number[], batchId: string | null = batch.current?.id ?? null): Promise<void> {
    const id = batchId;
    await runStationCall(() => api.showCodes(id, id ? codeIndexes : []), { error });
  }

  /** Takes one batch's codes off the screen, or (no batch) every code: the operator signs out. */
  async function clearScreen(batchId: string | null = null): Promise<void> {
    await runStationCall(() => api.showCodes(batchId, []), { error });
  }

  function clear(): void {
    images.value = {};
    error.value = null;
  }

  return { codeImages, error, codesLocked, lockedFor, loadCodeImage, codeImage, unlockCodes, printSheet, showOnScreen, clearScreen, clear };
});
