import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

// Lint is where formatting is enforced: the workspace's eslint config runs Prettier as a rule.
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const filePath = join(root, 'packages', 'config', 'src', 'formatting-probe.ts');

describe('lint checks formatting', () => {
  const eslint = new ESLint({ cwd: root });

  it('fails on code Prettier would change', async () => {
    const [result] = await eslint.lintText('const  answer=42\nexport { answer }\n', { filePath });
    expect(result!.messages.map((m) => m.ruleId)).toContain('prettier/prettier');
    expect(result!.errorCount).toBeGreaterThan(0);
  });

  it('passes the same code once formatted', async () => {
    const [result] = await eslint.lintText('const answer = 42;\nexport { answer };\n', { filePath });
    expect(result!.messages).toEqual([]);
  });
});
