import { MAX_SERIAL_LINE } from '../../protocol/index.js';
import { LineSplitter } from '../../protocol/line-splitter.js';

/**
 * The device's UART receive buffer: a fixed number of bytes, as on firmware. Lines end in CRLF, LF
 * or CR; blank lines are skipped; a line longer than the buffer is dropped up to its end and
 * reported once, so a flood cannot grow memory. The splitting is the pure one of src/protocol,
 * which the station's reader in src/wired uses too.
 */
export class UartLineReader {
  readonly #splitter: LineSplitter;

  constructor(onLine: (line: string) => void, onOverflow: (droppedBytes: number) => void, capacity: number = MAX_SERIAL_LINE) {
    this.#splitter = new LineSplitter(onLine, (overflow) => onOverflow(overflow.droppedBytes), capacity);
  }

  push(chunk: Uint8Array): void {
    this.#splitter.push(chunk);
  }
}
