/** The countdown shown under each code: mm:ss, urgent in the last minute, "expired" after. */
export interface Countdown {
  text: string;
  urgent: boolean;
  expired: boolean;
  remainingMs: number;
}

const LAST_MINUTE_MS = 60_000;

/** Whole seconds left, rounded up so that "00:00" is never shown while the code is still valid. */
export function formatMmSs(ms: number): string {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const minutes = Math.floor(total / 60);
  const seconds = total % 60;
  return `${String(minutes).padStart(2, '0')}:${String(seconds).padStart(2, '0')}`;
}

export function countdownTo(expiresAt: string, now: number): Countdown {
  const end = Date.parse(expiresAt);
  if (Number.isNaN(end)) return { text: '--:--', urgent: false, expired: false, remainingMs: 0 };
  const remainingMs = end - now;
  if (remainingMs <= 0) return { text: 'expired', urgent: false, expired: true, remainingMs: 0 };
  return { text: formatMmSs(remainingMs), urgent: remainingMs <= LAST_MINUTE_MS, expired: false, remainingMs };
}
