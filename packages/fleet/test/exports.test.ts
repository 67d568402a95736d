import { join } from 'node:path';
import type { Options } from 'tsup';
import { describe, it } from 'vitest';
import { expectBuiltExportsMatchSource } from '../../../tools/exports-check.ts';
import config from '../tsup.config.ts';

describe('the built package', () => {
  it('exports from dist exactly what the sources export', async () => {
    await expectBuiltExportsMatchSource(join(import.meta.dirname, '..'), config as Options);
  }, 60_000);
});
