import { describe, expect, it } from 'vitest';
import { parseManifestFile } from '../../src/renderer/lib/manifest-file.js';

const F = 'QC1-####-######';

describe('a manifest file from the returns system', () => {
  it('given a plain list with a header line and one bad line, then the bad line is reported by its number and nothing is imported', () => {
    const r = parseManifestFile('Serial\r\nQC1-2611-000001\r\n\r\ngarbage label 😀\r\nQC1-2611-000002\r\n', { format: F });
    expect(r).toMatchObject({ ok: false, kind: 'list', header: true });
    expect(r.problems).toEqual([{ line: 4, text: 'garbage label 😀', kind: 'not-a-serial' }]);
  });

  it('given the same list fixed, then every serial is imported in order', () => {
    const r = parseManifestFile('QC1-2611-000001\nQC1-2611-000002\n', { format: F });
    expect(r).toMatchObject({ ok: true, serials: ['QC1-2611-000001', 'QC1-2611-000002'], problems: [] });
  });

  it('given a CSV export, then the serial column is detected by its header, and wrong-format and duplicate lines are named', () => {
    const csv = 'RMA;Model;S/N;Note\nR-1;C1;QC1-2611-000001;ok\nR-2;C1;NV8-2611-000009;"scratched; box"\nR-3;C1;QC1-2611-000001;\nR-4;C1;;\n';
    const r = parseManifestFile(csv, { format: F });
    expect(r).toMatchObject({ ok: false, kind: 'csv', header: true, column: { index: 2, detected: true } });
    expect(r.columns).toEqual(['RMA', 'Model', 'S/N', 'Note']);
    expect(r.problems).toEqual([
      { line: 3, text: 'NV8-2611-000009', kind: 'wrong-format', format: F, at: 0 },
      { line: 4, text: 'QC1-2611-000001', kind: 'duplicate', firstLine: 2 },
      { line: 5, text: '', kind: 'empty-cell' },
    ]);
  });

  it('given a CSV without a header, then the column where the serials are is found; a chosen column is read instead', () => {
    const csv = 'R-1,QC1-2611-000001\nR-2,QC1-2611-000002\n';
    expect(parseManifestFile(csv, { format: F })).toMatchObject({ ok: true, header: false, column: { index: 1, detected: true }, serials: ['QC1-2611-000001', 'QC1-2611-000002'] });
    const chosen = parseManifestFile(csv, { format: F, column: 0 });
    expect(chosen).toMatchObject({ ok: false, column: { index: 0, detected: false } });
    expect(chosen.problems.map((p) => p.line)).toEqual([1, 2]);
  });

  it('given a file that is not CSV (an unclosed quote), then it is refused at its line, not thrown', () => {
    const r = parseManifestFile('sn,x\nQC1-2611-000001,"open\n', { format: F });
    expect(r.ok).toBe(false);
    expect(r.problems[0]).toMatchObject({ kind: 'unreadable', line: expect.any(Number) });
  });

  it('given an empty file or more serials than a batch takes, then nothing is imported', () => {
    expect(parseManifestFile('', { format: null }).ok).toBe(false);
    const many = Array.from({ length: 10_001 }, (_, i) => `SN-${String(i).padStart(6, '0')}`).join('\n');
    expect(parseManifestFile(many, { format: null })).toMatchObject({ ok: false, tooMany: true, problems: [] });
  });
});
