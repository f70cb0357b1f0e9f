import { MAX_SERIAL_LINE } from '../protocol/index.js';

const CR = 0x0d;
const LF = 0x0a;

/**
 * The device's UART receive buffer: a fixed number of bytes, as on firmware. Lines end in CRLF, LF
 * or CR; blank lines are skipped; a line longer than the buffer is dropped up to its end and
 * reported once, so a flood cannot grow memory. (The station has its own reader in src/wired: the
 * two sides share only src/protocol, as firmware and the station would.)
 */
export class UartLineReader {
  readonly #buffer: Buffer;
  #length = 0;
  #dropped = 0;
  #afterCr = false;

  constructor(
    private readonly onLine: (line: string) => void,
    private readonly onOverflow: (droppedBytes: number) => void,
    capacity: number = MAX_SERIAL_LINE,
  ) {
    this.#buffer = Buffer.alloc(capacity);
  }

  push(chunk: Uint8Array): void {
    for (const byte of chunk) {
      const afterCr = this.#afterCr;
      this.#afterCr = byte === CR;
      if (byte === LF && afterCr) continue;
      if (byte === CR || byte === LF) this.#end();
      else if (this.#dropped > 0) this.#dropped++;
      else if (this.#length < this.#buffer.length) this.#buffer[this.#length++] = byte;
      else {
        this.#dropped = this.#length + 1;
        this.#length = 0;
      }
    }
  }

  #end(): void {
    if (this.#dropped > 0) {
      const dropped = this.#dropped;
      this.#dropped = 0;
      this.onOverflow(dropped);
    } else if (this.#length > 0) {
      const line = this.#buffer.toString('utf8', 0, this.#length);
      this.#length = 0;
      this.onLine(line);
    }
  }
}
