import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { stringify } from 'csv-stringify/sync';
import { describe, expect, it } from 'vitest';
import { csvCell } from '../../src/history/csv-export.js';

/**
 * The export writes its rows itself (csv-export.ts, for speed) to csv-stringify's rules: the library,
 * with the export's own options, is the oracle, cell by cell, over any text a cell can hold.
 */
const oracle = (value: string | null): string => stringify([[value, "x"]], { escape_formulas: true }).slice(0, -'\n'.length).replace(/,x$/, '');

// Text rich in what matters: quotes, commas, line breaks, formula starts (ASCII and full-width).
const tricky = fc.constantFrom('"', ',', '\n', '\r', '=', '+', '-', '@', '\t', '\uFF1D', '\uFF0B', '\uFF0D', '\uFF20', "'", ' ', 'a', 'Ü', '😀');
const cellText = fc.oneof(fc.string({ unit: tricky, maxLength: 12 }), fc.string({ unit: 'grapheme', maxLength: 24 }), fc.string({ maxLength: 40 }));

describe('CSV cells', () => {
  it('are written exactly as csv-stringify writes them with escape_formulas, for any text', () => {
    fc.assert(
      fc.property(cellText, (v) => {
        assert.equal(csvCell(v), oracle(v));
      }),
      { numRuns: 10_000 },
    );
  });

  it('write null and empty as nothing, and the cases a spreadsheet would run as text', () => {
    expect(csvCell(null)).toBe(oracle(null));
    expect(csvCell('')).toBe('');
    expect(csvCell('=HYPERLINK("x")')).toBe(`"'=HYPERLINK(""x"")"`);
    expect(csvCell('-A1')).toBe("'-A1");
    expect(csvCell('a,b')).toBe('"a,b"');
  });
});
