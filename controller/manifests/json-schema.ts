import { z } from 'zod';
import { LetheConfig, PrivacyRequest, PrivacyRequestStatus, VendorConnection } from '../../specs/index.ts';

/** One exported file per kind; editors pick them up through `# yaml-language-server: $schema=`. */
export const SCHEMA_FILES = {
  'privacy-request.schema.json': PrivacyRequest,
  'vendor-connection.schema.json': VendorConnection,
  'lethe-config.schema.json': LetheConfig,
  'privacy-request-status.schema.json': PrivacyRequestStatus,
} as const;
export type SchemaFile = keyof typeof SCHEMA_FILES;

export type JsonSchema = Record<string, unknown>;

/** The input side: what people write, so defaulted fields are optional. */
export function jsonSchemaOf(file: SchemaFile): JsonSchema {
  const schema = SCHEMA_FILES[file];
  const kind = (schema.shape.kind as z.ZodLiteral<string>).value;
  return { title: kind, ...z.toJSONSchema(schema, { io: 'input' }) } as JsonSchema;
}

export function exportJsonSchemas(): Map<SchemaFile, string> {
  return new Map(
    (Object.keys(SCHEMA_FILES) as SchemaFile[]).map((file) => [
      file,
      JSON.stringify(jsonSchemaOf(file), null, 2) + '\n',
    ]),
  );
}
