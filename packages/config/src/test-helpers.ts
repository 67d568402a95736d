import { expect } from 'vitest';
import type { z } from 'zod';
import { ConfigError } from './errors.js';
import { loadConfig } from './load.js';
import { defineConfig } from './schema.js';

/** Loads one field named VALUE from an env var alone (no argv, no files). */
export function readOne<F extends z.ZodType>(field: F, text: string | undefined): z.output<F> {
  const config = loadConfig(defineConfig({ VALUE: field }), { argv: [], env: { VALUE: text }, envFiles: [] });
  return (config as { VALUE: z.output<F> }).VALUE;
}

/** The ConfigError that `run` throws; fails the test if it throws anything else or nothing. */
export function configErrorOf(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError, but nothing was thrown');
}
