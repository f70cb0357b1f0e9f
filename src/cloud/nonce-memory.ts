import { CLOCK_SKEW_MS } from '../protocol/index.js';

/** How long a station or device nonce is remembered: past it, its timestamp alone is refused (±300 s). */
export const NONCE_MEMORY_MS = 2 * CLOCK_SKEW_MS + 60_000;
