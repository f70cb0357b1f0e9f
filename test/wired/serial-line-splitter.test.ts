import { describe, expect, it } from 'vitest';
import { MAX_SERIAL_LINE } from '../../src/protocol/index.js';
import { SerialLineSplitter, type LineOverflow } from '../../src/wired/serial-line-splitter.js';

function splitter(max?: number) {
  const lines: string[] = [];
  const overflows: LineOverflow[] = [];
  const s = new SerialLineSplitter((l) => lines.push(l), (o) => overflows.push(o), max);
  return { s, lines, overflows };
}

describe('serial line splitter', () => {
  it('given CRLF, LF and lone-CR endings mixed, and lines cut across chunks, then each line comes out once', () => {
    const { s, lines } = splitter();
    s.push(Buffer.from('GW1-0001\r'));
    s.push(Buffer.from('\nGW1-0002\nGW1-00'));
    s.push(Buffer.from('03\rGW1-0004\r\n\r\n\n'));
    expect(lines).toEqual(['GW1-0001', 'GW1-0002', 'GW1-0003', 'GW1-0004']);
  });

  it('given a line of exactly the limit, then it passes; one byte more, then it is dropped and reported once', () => {
    const { s, lines, overflows } = splitter();
    s.push(Buffer.from(`${'a'.repeat(MAX_SERIAL_LINE)}\r\n${'b'.repeat(MAX_SERIAL_LINE + 1)}\r\nOK\r\n`));
    expect(lines).toEqual(['a'.repeat(MAX_SERIAL_LINE), 'OK']);
    expect(overflows).toEqual([{ droppedBytes: MAX_SERIAL_LINE + 1, head: 'b'.repeat(40) }]);
  });

  it('given a 16 MB flood without a line end, then the held bytes never pass the limit and the next line still comes', () => {
    const { s, lines, overflows } = splitter();
    const chunk = Buffer.alloc(64 * 1024, 0x41);
    let most = 0;
    for (let i = 0; i < 256; i++) {
      s.push(chunk);
      most = Math.max(most, s.bufferedBytes);
    }
    s.push(Buffer.from('\r\nGW1-0009\r\n'));
    expect(most).toBeLessThanOrEqual(MAX_SERIAL_LINE);
    expect(overflows).toEqual([{ droppedBytes: 256 * chunk.length, head: 'A'.repeat(40) }]);
    expect(lines).toEqual(['GW1-0009']);
  });

  it('given the port is lost mid-line, when the partial line is discarded, then the next bytes start a fresh line', () => {
    const { s, lines } = splitter();
    s.push(Buffer.from('GW1-00'));
    expect(s.discardPartial()).toBe(6);
    s.push(Buffer.from('GW1-0005\r\n'));
    expect(lines).toEqual(['GW1-0005']);
  });

  it('given bytes that are not UTF-8, then the line comes out with replacement characters (for the parser to reject)', () => {
    const { s, lines } = splitter();
    s.push(Buffer.from([0x47, 0xff, 0xfe, 0x0a]));
    expect(lines).toEqual(['G\uFFFD\uFFFD']);
  });
});
