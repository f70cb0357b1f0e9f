import { describe, expect, it } from 'vitest';
import { checkSerialLabel, describeLabelProblem, exampleSerial, serialFormatSchema } from '../../src/protocol/index.js';

describe('a product’s serial format', () => {
  it('given the format QC1-####-######, then its labels match and others are refused with the place they differ', () => {
    const f = 'QC1-####-######';
    expect(checkSerialLabel('QC1-2611-000042', f)).toBeNull();
    expect(checkSerialLabel('NV8-2611-000042', f)).toEqual({ kind: 'wrong-format', format: f, at: 0 });
    expect(checkSerialLabel('QC1-2611-00004', f)).toEqual({ kind: 'wrong-format', format: f, at: 14 });
    expect(checkSerialLabel('QC1-2611-0000421', f)).toEqual({ kind: 'wrong-format', format: f, at: 15 });
    expect(checkSerialLabel('QC1-26A1-000042', f)).toEqual({ kind: 'wrong-format', format: f, at: 6 });
  });

  it('given any label, then one that is not label characters is refused before any format', () => {
    for (const label of ['garbage label 😀', 'a b', '', 'x'.repeat(65), 'QC1\u0000']) expect(checkSerialLabel(label, null)).toEqual({ kind: 'not-a-serial' });
    expect(checkSerialLabel('ANY-LABEL-1', null)).toBeNull();
  });

  it('A is an upper-case letter, * a letter or digit; the example and the refusal read as a label', () => {
    expect(checkSerialLabel('SN-Q7', 'SN-A*')).toBeNull();
    expect(checkSerialLabel('SN-q7', 'SN-A*')).not.toBeNull();
    expect(exampleSerial('QC1-####-AA*')).toBe('QC1-0000-XX0');
    expect(describeLabelProblem('NV8-1', { kind: 'wrong-format', format: 'QC1-####', at: 0 })).toMatch(/look like QC1-0000 \(QC1-####\)/);
    expect(describeLabelProblem('x'.repeat(200), { kind: 'not-a-serial' }).length).toBeLessThan(120);
  });

  it('a format is a template of label characters only (no regular expression from the cloud)', () => {
    expect(serialFormatSchema.safeParse('QC1-####-######').success).toBe(true);
    for (const bad of ['(a+)+$', 'QC1 ####', '##', 'x'.repeat(65)]) expect(serialFormatSchema.safeParse(bad).success).toBe(false);
  });
});
