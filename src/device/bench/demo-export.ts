import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { pidSchema, regionSchema } from '../../protocol/index.js';
import { deviceIdentitySchema } from '../core/device-identity.js';

/** The authority's demo export (`unbind authority --demo` writes it): who can sign in, what exists. */
export const demoExportSchema = z.object({
  authorityUrl: z.url({ protocol: /^https?$/ }),
  accounts: z.array(
    z.object({
      name: z.string().min(1),
      role: z.string().min(1),
      clientId: z.string().min(1),
      secret: z.string().min(1),
      region: regionSchema,
    }),
  ),
  products: z.array(
    z.object({
      pid: pidSchema,
      name: z.string(),
      category: z.string(),
      owner: z.string(),
      unbindSupported: z.boolean(),
      minFirmware: z.string().nullable().optional(),
    }),
  ),
  devices: z.array(deviceIdentitySchema),
});
export type DemoExport = z.infer<typeof demoExportSchema>;

/** Reads and validates an export file; the error names the file and the first bad field. */
export async function readDemoExport(path: string): Promise<DemoExport> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read ${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`${path} is not JSON`);
  }
  const parsed = demoExportSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`${path} is not a demo export: ${issue?.path.join('.') || 'file'}: ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data;
}
