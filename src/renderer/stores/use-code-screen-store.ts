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
 * The QR code screen of the current batch: each code's image, which codes are on screen (the station
 * mirrors them for the virtual bench's cameras), the print sheet, and the Wi-Fi typed again to draw
 * codes after a station restart. Images of another batch are forgotten once it is no longer current.
 */
export const useCodeScreenStore = defineStore('code-screen', () => {
  const api = useStationApi();
  const batch = useCurrentBatchStore();

  const images = ref<Record<string, CodeImage>>({});
  const imagesFor = ref<string | null>(null);
  const error = ref<StationError | null>(null);

  const codeImages = computed<Record<string, CodeImage>>(() => (imagesFor.value !== null && imagesFor.value === batch.current?.id ? images.value : {}));
  /** After a station restart the codes cannot be drawn until the operator types the Wi-Fi password again. */
  const codesLocked = computed(() => Object.values(codeImages.value).some((i) => i.state === 'error' && i.error.code === StationRefusal.CODES_LOCKED));

  function setImage(batchId: string, tokenId: string, image: CodeImage): void {
    images.value = { ...(imagesFor.value === batchId ? images.value : {}), [tokenId]: image };
    imagesFor.value = batchId;
  }

  async function loadCodeImage(code: BatchCodeView): Promise<void> {
    const id = batch.current?.id;
    if (!id) return;
    const existing = codeImages.value[code.tokenId];
    if (existing && existing.state !== 'error') return;
    setImage(id, code.tokenId, { state: 'loading' });
    const drawn = await runStationCall(() => api.getCodeSvg(id, code.index));
    const image: CodeImage = drawn.ok ? { state: 'ready', url: svgToDataUrl(drawn.value) } : { state: 'error', error: drawn.error };
    if (batch.current?.id === id) setImage(id, code.tokenId, image);
  }

  function codeImage(code: BatchCodeView): CodeImage | null {
    return codeImages.value[code.tokenId] ?? null;
  }

  /** Gives the station the Wi-Fi again (it never stores the password); the codes can then be drawn. */
  async function unlockCodes(wifi: { ssid: string; password: string }): Promise<boolean> {
    const ok = await batch.updateCurrent((id) => api.unlockCodes(id, wifi), { busy: true });
    // Codes that failed to draw while locked are drawn again.
    if (ok) images.value = Object.fromEntries(Object.entries(images.value).filter(([, i]) => i.state !== 'error'));
    return ok;
  }

  async function printSheet(): Promise<string | null> {
    const id = batch.current?.id;
    if (!id) return null;
    const sheet = await runStationCall(() => api.getPrintSheet(id, { locale: currentLocale() }), { error });
    return sheet.ok ? sheet.value : null;
  }

  /** Tells the station which codes are on screen (the virtual bench's cameras look at those). */
  async function showOnScreen(codeIndexes: number[]): Promise<void> {
    const id = batch.current?.id ?? null;
    await runStationCall(() => api.showCodes(id, id ? codeIndexes : []), { error });
  }

  async function clearScreen(): Promise<void> {
    await runStationCall(() => api.showCodes(null, []), { error });
  }

  function clear(): void {
    images.value = {};
    imagesFor.value = null;
    error.value = null;
  }

  return { codeImages, error, codesLocked, loadCodeImage, codeImage, unlockCodes, printSheet, showOnScreen, clearScreen, clear };
});
