/**
 * Cuts a serial byte stream into lines, for both ends of a serial line (the station's reader in
 * src/wired and a device's UART receive buffer in src/device). Pure: bytes in, lines out, no I/O.
 *
 * Lines end in CRLF, LF or a lone CR (scanners are often set to CR only). Memory is one fixed buffer
 * of `maxLineBytes`: a longer line is counted and dropped up to its end, then reported once, so a
 * flood without line ends cannot grow memory. Blank lines carry nothing and are skipped. Bytes are
 * decoded as UTF-8 (invalid bytes become U+FFFD and fail the parsers that follow).
 */
import { MAX_SERIAL_LINE } from './serial-line.js';

const CR = 0x0d;
const LF = 0x0a;
/** How much of an overlong line is kept to say what it was. */
const HEAD_BYTES = 40;

/** A line that passed the length limit: its bytes were dropped as they came, never stored. */
export interface LineOverflow {
  droppedBytes: number;
  /** The first characters of the line, to tell the operator what it was. */
  head: string;
}

const utf8 = new TextDecoder('utf-8');

export class LineSplitter {
  readonly #buffer: Uint8Array;
  readonly #onLine: (line: string) => void;
  readonly #onOverflow: (overflow: LineOverflow) => void;
  #length = 0;
  /** Bytes of the current overlong line, 0 when the current line still fits. */
  #dropped = 0;
  #head = '';
  /** The previous byte was a CR: an LF right after it ends no second line. */
  #afterCr = false;

  constructor(onLine: (line: string) => void, onOverflow: (overflow: LineOverflow) => void, readonly maxLineBytes: number = MAX_SERIAL_LINE) {
    if (!Number.isInteger(maxLineBytes) || maxLineBytes < 1) throw new RangeError(`maxLineBytes must be a positive integer, got ${maxLineBytes}`);
    this.#buffer = new Uint8Array(maxLineBytes);
    this.#onLine = onLine;
    this.#onOverflow = onOverflow;
  }

  /** Bytes held for the line in progress; never more than maxLineBytes. */
  get bufferedBytes(): number {
    return this.#length;
  }

  push(chunk: Uint8Array): void {
    for (const byte of chunk) {
      if (byte === LF && this.#afterCr) {
        this.#afterCr = false;
        continue;
      }
      this.#afterCr = byte === CR;
      if (byte === CR || byte === LF) {
        this.#endLine();
      } else if (this.#dropped > 0) {
        this.#dropped++;
      } else if (this.#length < this.maxLineBytes) {
        this.#buffer[this.#length++] = byte;
      } else {
        this.#head = this.#text(Math.min(this.#length, HEAD_BYTES));
        this.#dropped = this.#length + 1;
        this.#length = 0;
      }
    }
  }

  /** Forgets a partial line (the port was lost mid-line: its rest will never come). Returns how many bytes were dropped. */
  discardPartial(): number {
    const dropped = this.#dropped || this.#length;
    this.#length = 0;
    this.#dropped = 0;
    this.#afterCr = false;
    return dropped;
  }

  #text(length: number): string {
    return utf8.decode(this.#buffer.subarray(0, length));
  }

  #endLine(): void {
    if (this.#dropped > 0) {
      const overflow = { droppedBytes: this.#dropped, head: this.#head };
      this.#dropped = 0;
      this.#head = '';
      this.#onOverflow(overflow);
      return;
    }
    if (this.#length === 0) return;
    const line = this.#text(this.#length);
    this.#length = 0;
    this.#onLine(line);
  }
}
