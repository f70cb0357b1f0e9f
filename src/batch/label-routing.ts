/**
 * Which running batch a label from the bench's barcode scanner belongs to, when several run at once
 * (the scanner is one device for the whole bench). In order:
 * 1. a batch that scanned this label already (a repeat scan changes nothing, and says where it is);
 * 2. the newest batch whose manifest lists it;
 * 3. the newest batch without a manifest whose product's serial format takes it;
 * 4. else the newest running batch, which refuses it with what its serials look like.
 * `candidates` newest first; null when none runs.
 */
export interface LabelCandidate {
  id: string;
  manifest: readonly string[] | null;
  scanned: readonly string[];
  /** The batch's product's serial format takes the label (or the product has none). */
  accepts: boolean;
}

export function batchForLabel(candidates: readonly LabelCandidate[], label: string): { id: string; fits: boolean } | null {
  const pick = (c: LabelCandidate | undefined, fits: boolean) => (c ? { id: c.id, fits } : null);
  return (
    pick(candidates.find((c) => c.scanned.includes(label)), true) ??
    pick(candidates.find((c) => c.manifest?.includes(label)), true) ??
    pick(candidates.find((c) => !c.manifest?.length && c.accepts), true) ??
    pick(candidates[0], false)
  );
}
