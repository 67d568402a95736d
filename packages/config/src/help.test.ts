import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { wantsHelp } from './argv.js';
import { env } from './fields.js';
import { formatHelp } from './help.js';
import { mergeConfigSchemas } from './merge.js';
import { defineConfig } from './schema.js';

const server = defineConfig({
  TRELLIS_TRANSPORT: env
    .enum(['stdio', 'http'])
    .default('stdio')
    .meta({ flag: '--transport', description: 'Transport to serve on.' }),
  PORT: env.port().default(3000).describe('HTTP port.'),
  REQUEST_TIMEOUT: env.duration().default(30_000),
  VERBOSE: env.boolean().default(false),
});
const github = defineConfig({
  GITHUB_TOKEN: env.string().describe('Token for the GitHub API.').meta({ flag: false }),
  PAGE_SIZE: z.number().int().optional(),
});

describe('formatHelp', () => {
  it('lists every flag and variable with its type, default and description', () => {
    const help = formatHelp({ name: 'weather', description: 'Weather tools over MCP.', schema: server });
    expect(help).toBe(
      [
        'Usage: weather [options]',
        '',
        'Weather tools over MCP.',
        '',
        'Options:',
        '  --transport <stdio|http>          env TRELLIS_TRANSPORT',
        '      Transport to serve on.',
        '      One of: stdio, http; default: stdio.',
        '  --port <port>                     env PORT',
        '      HTTP port.',
        '      A port number (an integer from 0 to 65535); default: 3000.',
        '  --request-timeout <duration>      env REQUEST_TIMEOUT',
        '      A duration such as 500ms, 30s, 5m, 1h or 1d (a bare number means milliseconds); default: 30s.',
        '  --verbose, --no-verbose           env VERBOSE',
        '      A boolean (true/false, 1/0, yes/no or on/off); default: false.',
        '',
        '  -h, --help                        show this help and exit',
        '',
        'Each option is read from its flag, else its environment variable, else .env.local, else .env, else its default.',
        'An empty value counts as unset. Secret values are never shown.',
        '',
      ].join('\n'),
    );
  });

  it('groups by owner, and marks secret, required, optional and shared fields', () => {
    const { schema, owners } = mergeConfigSchemas([
      { owner: 'server', schema: server },
      { owner: 'github', schema: github },
      { owner: 'web', schema: defineConfig({ PORT: env.port().default(3000) }) },
    ]);
    const help = formatHelp({ name: 'app', schema, owners });
    expect(help).toContain('Options of server:\n  --transport');
    expect(help).toContain('      Shared by server, web.');
    expect(help).toContain(
      [
        'Options of github:',
        '  (no flag)                         env GITHUB_TOKEN (secret)',
        '      Token for the GitHub API.',
        '      A string; required.',
        '  --page-size <integer>             env PAGE_SIZE',
        '      An integer; optional.',
      ].join('\n'),
    );
  });
});

describe('wantsHelp', () => {
  it('sees --help or -h before --', () => {
    expect(wantsHelp(['--port', '1', '--help'])).toBe(true);
    expect(wantsHelp(['-h'])).toBe(true);
    expect(wantsHelp(['--', '--help'])).toBe(false);
    expect(wantsHelp([])).toBe(false);
  });
});
