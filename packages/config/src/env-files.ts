import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseEnv } from 'node:util';
import type { ConfigIssue } from './errors.js';

/** The variables of one env file, named as it was listed. */
export interface EnvFile {
  name: string;
  values: Readonly<Record<string, string | undefined>>;
}

/**
 * Reads env files relative to `cwd` with Node's own parser, in the order given. A missing file is
 * skipped (both are optional); one that exists but cannot be read is a problem to report.
 */
export function readEnvFiles(cwd: string, names: readonly string[]): { files: EnvFile[]; issues: ConfigIssue[] } {
  const files: EnvFile[] = [];
  const issues: ConfigIssue[] = [];
  for (const name of names) {
    const path = resolve(cwd, name);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') continue;
      issues.push({
        key: undefined,
        flag: undefined,
        source: name,
        given: undefined,
        expected: 'a readable env file',
        message: `${name}: cannot read ${path} (${code ?? String(error)})`,
      });
      continue;
    }
    files.push({ name, values: parseEnv(text) });
  }
  return { files, issues };
}
