import type { PromptArgument } from '@modelcontextprotocol/server';
import { describeIssues, type FieldProblem } from '@trellis/tools';
import { z } from 'zod';

/**
 * The `arguments` listing of a prompt, from its zod object: name, description
 * (from `.describe()`) and whether it is required. Throws a `TypeError` naming
 * the argument when a field cannot take a string, since MCP sends only strings.
 */
export function promptArguments(promptName: string, schema: z.ZodObject | undefined): PromptArgument[] {
  if (schema === undefined) return [];
  let json: {
    type?: unknown;
    properties?: Record<string, { type?: unknown; description?: string }>;
    required?: string[];
  };
  try {
    json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as typeof json;
  } catch (error) {
    throw new TypeError(
      `prompt "${promptName}": arguments must be a zod object of strings (${error instanceof Error ? error.message : String(error)})`,
    );
  }
  if (json.type !== 'object') {
    throw new TypeError(
      `prompt "${promptName}": arguments must be a zod object of strings, got ${JSON.stringify(json.type ?? 'a union')}`,
    );
  }
  const required = new Set(json.required ?? []);
  return Object.entries(json.properties ?? {}).map(([name, property]) => {
    if (property.type !== undefined && property.type !== 'string') {
      throw new TypeError(
        `prompt "${promptName}": argument "${name}" must take a string (MCP sends prompt arguments as strings), got ${JSON.stringify(property.type)}`,
      );
    }
    return {
      name,
      ...(property.description !== undefined && { description: property.description }),
      required: required.has(name),
    };
  });
}

/** Parses raw `prompts/get` arguments, or lists every bad one. */
export function parseArguments(
  schema: z.ZodObject | undefined,
  raw: unknown,
): { success: true; data: Record<string, unknown> } | { success: false; problems: FieldProblem[] } {
  if (raw !== undefined && raw !== null && (typeof raw !== 'object' || Array.isArray(raw))) {
    return { success: false, problems: [{ path: '(arguments)', message: 'expected an object of string values' }] };
  }
  if (schema === undefined) return { success: true, data: {} };
  const result = schema.safeParse(raw ?? {});
  if (result.success) return { success: true, data: result.data };
  return { success: false, problems: describeIssues(result.error.issues) };
}
