import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { clientConfigPath, stdioEntry, writeClientEntry } from '../client-config.mjs';

describe('clientConfigPath', () => {
  const home = { linux: '/home/ada', darwin: '/Users/ada', win32: 'C:\\Users\\ada' } as const;
  it.each([
    ['claude-desktop', 'linux', '/home/ada/.config/Claude/claude_desktop_config.json'],
    ['claude-desktop', 'darwin', '/Users/ada/Library/Application Support/Claude/claude_desktop_config.json'],
    ['claude-desktop', 'win32', 'C:\\Users\\ada\\AppData\\Roaming\\Claude\\claude_desktop_config.json'],
    ['cursor', 'linux', '/home/ada/.cursor/mcp.json'],
    ['cursor', 'darwin', '/Users/ada/.cursor/mcp.json'],
    ['cursor', 'win32', 'C:\\Users\\ada\\.cursor\\mcp.json'],
    ['vscode', 'linux', '/home/ada/.config/Code/User/mcp.json'],
    ['vscode', 'darwin', '/Users/ada/Library/Application Support/Code/User/mcp.json'],
    ['vscode', 'win32', 'C:\\Users\\ada\\AppData\\Roaming\\Code\\User\\mcp.json'],
  ] as const)('%s on %s', (client, platform, expected) => {
    const env = platform === 'win32' ? { APPDATA: 'C:\\Users\\ada\\AppData\\Roaming' } : {};
    expect(clientConfigPath(client, { platform, env, home: home[platform] })).toBe(expected);
  });

  it('follows XDG_CONFIG_HOME on Linux', () => {
    expect(clientConfigPath('vscode', { platform: 'linux', env: { XDG_CONFIG_HOME: '/cfg' }, home: '/home/ada' })).toBe(
      '/cfg/Code/User/mcp.json',
    );
  });

  it('refuses an unknown client by name', () => {
    // @ts-expect-error: not a client
    expect(() => clientConfigPath('emacs')).toThrow(
      /--client must be one of claude-desktop, cursor, vscode \(got "emacs"\)/,
    );
  });
});

describe('writeClientEntry', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  const fileWith = (text?: string) => {
    const dir = mkdtempSync(join(tmpdir(), 'trellis-client-config-'));
    dirs.push(dir);
    const file = join(dir, 'sub', 'mcp.json');
    if (text !== undefined) {
      writeFileSync(join(dir, 'mcp.json'), text);
      return join(dir, 'mcp.json');
    }
    return file;
  };
  const entry = stdioEntry('vscode', { bundle: '/srv/app/dist/main.js', node: '/usr/bin/node' });

  it('creates a missing file (and its folder) with the entry alone', () => {
    const file = fileWith();
    const result = writeClientEntry({ client: 'vscode', file, name: 'app', entry });
    expect(result.action).toBe('added');
    expect(result.backup).toBeUndefined();
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({
      servers: { app: { type: 'stdio', command: '/usr/bin/node', args: ['/srv/app/dist/main.js'] } },
    });
  });

  it('keeps tabs, CRLF line ends and a one-line neighbour exactly as they were', () => {
    const original = '{\r\n\t"servers": {\r\n\t\t"a": {"type": "http", "url": "http://x"}\r\n\t}\r\n}\r\n';
    const file = fileWith(original);
    const { text, backup } = writeClientEntry({
      client: 'vscode',
      file,
      name: 'app',
      entry,
      now: new Date('2026-01-02T03:04:05.678Z'),
    });
    expect(text).toBe(
      '{\r\n\t"servers": {\r\n\t\t"a": {"type": "http", "url": "http://x"},\r\n\t\t"app": {\r\n\t\t\t"type": "stdio",\r\n\t\t\t"command": "/usr/bin/node",\r\n\t\t\t"args": [\r\n\t\t\t\t"/srv/app/dist/main.js"\r\n\t\t\t]\r\n\t\t}\r\n\t}\r\n}\r\n',
    );
    expect(backup).toBe(`${file}.2026-01-02T03-04-05-678Z.bak`);
    expect(readFileSync(backup!, 'utf8')).toBe(original);
  });

  it('replaces an older entry of the same name in place', () => {
    const file = fileWith(
      '{\n  "servers": {\n    "app": { "command": "old" },\n    "z": { "url": "http://z" }\n  }\n}\n',
    );
    const { action } = writeClientEntry({ client: 'vscode', file, name: 'app', entry });
    expect(action).toBe('replaced');
    const config = JSON.parse(readFileSync(file, 'utf8'));
    expect(Object.keys(config.servers)).toEqual(['app', 'z']);
    expect(config.servers.app.command).toBe('/usr/bin/node');
  });

  it('refuses what it cannot edit safely and writes nothing', () => {
    for (const [text, message] of [
      ['[1, 2]', /does not hold a JSON object/],
      ['{ "mcpServers": "x" }', /"mcpServers" in .* is not an object/],
      ['{ "mcpServers": { ', /is not valid JSON/],
    ] as const) {
      const file = fileWith(text);
      expect(() => writeClientEntry({ client: 'cursor', file, name: 'app', entry: {} })).toThrow(message);
      expect(readFileSync(file, 'utf8')).toBe(text);
      expect(readdirSync(join(file, '..'))).toEqual(['mcp.json']);
    }
  });
});
