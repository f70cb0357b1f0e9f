/**
 * When the station's mDNS browser asks again (RFC 6762 §5.2 continuous querying), as Apple's mDNSResponder
 * (the reference implementation) schedules it: the first repeat a third of a second after the first
 * query, then each interval three times the last (1 s, 3 s, 9 s, …) up to an hour. With the first
 * repeat a second after the first query and doubling from there, a device whose answers were lost twice
 * waited for the query at 3 s, past the 3 s an operator gives a LAN (bench:sweep with 5 % of datagrams
 * dropped: 7.1 s when its third answer was lost too).
 *
 * When the answers to a repeated query bring instances the browser did not know (answers were lost, or
 * devices are still coming up), the next query follows at the first interval, a bounded number of times:
 * the queries carry the known answers (§7.1), so such a repeat draws answers only from the devices not
 * heard yet, and a LAN that lost nothing backs off at once.
 */
export const FIRST_QUERY_INTERVAL_MS = 333;
export const QUERY_INTERVAL_STEP = 3;
export const MAX_QUERY_INTERVAL_MS = 3600_000;
/** Quick repeats (at the first interval) while answers still bring new instances, per browser. */
export const MAX_QUICK_REPEATS = 8;

export class MdnsQuerySchedule {
  #interval = FIRST_QUERY_INTERVAL_MS;
  #quickLeft = MAX_QUICK_REPEATS;

  /** The wait (ms) before the next query when nothing calls for a quick one: 333 ms, 1 s, 3 s, 9 s, … */
  next(): number {
    const wait = this.#interval;
    this.#interval = Math.min(wait * QUERY_INTERVAL_STEP, MAX_QUERY_INTERVAL_MS);
    return wait;
  }

  /**
   * The answers to a repeated query brought new instances: whether the next query may follow at the first
   * interval (false once the quick repeats are used up). After one, the waits start again from 1 s.
   */
  quick(): boolean {
    if (this.#quickLeft <= 0) return false;
    this.#quickLeft--;
    this.#interval = FIRST_QUERY_INTERVAL_MS * QUERY_INTERVAL_STEP;
    return true;
  }
}
