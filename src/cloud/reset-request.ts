import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { MAX_RESET_REQUEST_CHARS, parseResetQrText, resetRequestFieldsSchema, type ParsedResetRequest } from '../protocol/index.js';

/**
 * A reset request as a case carries it (DESIGN §4.9): the device's XML file
 * `<ResetRequest><DeviceSN/><Challenge/><IssuedAt/></ResetRequest>` or its QR text `RST1:…`.
 * Size-capped before any parsing; the parser expands no entities and nests at most two levels.
 */
const parser = new XMLParser({
  parseTagValue: false,
  ignoreDeclaration: true,
  ignoreAttributes: true,
  htmlEntities: false,
  maxNestedTags: 4,
  processEntities: false,
});

export type ResetRequestParse = { ok: true; value: ParsedResetRequest } | { ok: false; message: string };

export function parseResetRequest(text: string): ResetRequestParse {
  if (text.length > MAX_RESET_REQUEST_CHARS) return { ok: false, message: `the reset request is longer than ${MAX_RESET_REQUEST_CHARS} characters` };
  const qr = parseResetQrText(text);
  if (qr) return qr;
  if (!text.trimStart().startsWith('<')) return { ok: false, message: 'the reset request is neither the XML file nor the RST1: QR text' };
  // A DTD could declare entities; a reset request never has one.
  if (/<!DOCTYPE|<!ENTITY/i.test(text)) return { ok: false, message: 'the reset request XML may not carry a DTD' };
  const valid = XMLValidator.validate(text);
  if (valid !== true) return { ok: false, message: `the reset request is not well-formed XML: ${valid.err.msg}` };
  let doc: unknown;
  try {
    doc = parser.parse(text);
  } catch (err) {
    return { ok: false, message: `the reset request is not XML: ${(err as Error).message}`.slice(0, 200) };
  }
  const root = (doc as Record<string, unknown> | null)?.ResetRequest;
  const fields = resetRequestFieldsSchema.safeParse(root);
  if (!fields.success) {
    const issue = fields.error.issues[0];
    return { ok: false, message: `ResetRequest${issue?.path.length ? `.${issue.path.join('.')}` : ''}: ${issue?.message ?? 'malformed'}` };
  }
  return { ok: true, value: { device: fields.data.DeviceSN, challenge: fields.data.Challenge, issuedAt: fields.data.IssuedAt } };
}
