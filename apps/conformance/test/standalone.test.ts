import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { connectBundle, copyDistAlone } from '@trellis/testing/apps';
import { describe, expect, it } from 'vitest';
import { DIST } from './bundle.js';

describe('dist/ on its own', () => {
  it('runs from an empty folder with only Node', async () => {
    const copy = copyDistAlone(DIST, 'trellis-conformance-dist-');
    try {
      // No node_modules anywhere above the copy: the bundle must carry everything.
      for (let dir = copy.dist; dir !== dirname(dir); dir = dirname(dir))
        expect(existsSync(join(dir, 'node_modules')), dir).toBe(false);
      expect(readdirSync(copy.dist)).toContain('main.js');
      const client = await connectBundle({
        bundle: copy.main,
        cwd: copy.home,
        transport: 'stdio',
        client: 'v2',
        env: { PATH: dirname(process.execPath) },
      });
      try {
        const { tools } = await client.listTools();
        expect(tools.map((t) => t.name)).toEqual(
          expect.arrayContaining(['test_simple_text', 'test_error_handling', 'json_schema_2020_12_tool']),
        );
      } finally {
        await client.close();
      }
    } finally {
      copy.remove();
    }
  });
});
