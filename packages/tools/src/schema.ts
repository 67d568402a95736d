import { z } from 'zod';

const TOOL_NAME = /^[A-Za-z0-9_.-]{1,128}$/;

export type JsonObjectSchema = { type: 'object'; [key: string]: unknown };

/**
 * JSON Schema (2020-12) of a tool's input or output. 2020-12 features such as
 * `$defs` and `additionalProperties: false` are kept as zod emits them.
 */
export function toolJsonSchema(
  toolName: string,
  schema: z.ZodType | undefined,
  io: 'input' | 'output',
): JsonObjectSchema {
  if (schema === undefined) return { type: 'object', properties: {} };
  const json = z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
  if (json.type !== 'object') {
    throw new TypeError(
      `tool "${toolName}": the ${io} schema must be a zod object (MCP requires type "object"), got ${JSON.stringify(json.type ?? 'a union')}`,
    );
  }
  return json as JsonObjectSchema;
}

export function assertToolName(name: string): void {
  if (!TOOL_NAME.test(name)) {
    throw new TypeError(`tool name ${JSON.stringify(name)} is invalid: use 1–128 letters, digits, "_", "-" or "."`);
  }
}
