import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ProtocolErrorCode } from '@modelcontextprotocol/server';
import { describe, expect, it } from 'vitest';
import { ErrorCodes, httpStatusOfHandlerError } from './error-codes.js';

const table = readFileSync(join(dirname(fileURLToPath(import.meta.url)), '../../../docs/error-codes.md'), 'utf8');

describe('the error code catalog', () => {
  it('lists every named code in docs/error-codes.md, and nothing else', () => {
    const rows = [...table.matchAll(/^\| `(\w+)` \| (-\d+) \|/gm)].map((m) => [m[1], Number(m[2])]);
    expect(rows).toEqual(Object.entries(ErrorCodes));
  });

  it('agrees with the SDK on the codes both name', () => {
    for (const name of [
      'ParseError',
      'InvalidRequest',
      'MethodNotFound',
      'InvalidParams',
      'InternalError',
      'MissingRequiredClientCapability',
    ] as const) {
      expect(ErrorCodes[name]).toBe(ProtocolErrorCode[name]);
    }
  });

  it('answers a handler error in-band on 2026-07-28 HTTP, except a missing capability', () => {
    expect(httpStatusOfHandlerError(ErrorCodes.InvalidParams)).toBe(200);
    expect(httpStatusOfHandlerError(ErrorCodes.MissingRequiredClientCapability)).toBe(400);
  });
});
