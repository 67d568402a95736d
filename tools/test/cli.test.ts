// The `trellis` command line on a fresh copy of the workspace, set up by the
// README's first step only: every verb, driven as a user would drive it.
// One copy and one scaffolded plugin + app serve every test, in order.
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { freePort } from '@trellis/testing/apps';
import { parse } from 'jsonc-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CommandResult, FreshWorkspace } from './fresh-workspace.js';

let ws: FreshWorkspace;
const temp: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'trellis-cli-test-'));
  temp.push(dir);
  return dir;
};

beforeAll(() => {
  ws = FreshWorkspace.create();
}, 180_000);

afterAll(() => {
  ws?.remove();
  for (const dir of temp) rmSync(dir, { recursive: true, force: true });
});

/** lint, typecheck and test (and build, when asked) in one project of the copy, each step green. */
function expectGreen(dir: string, steps: ('lint' | 'typecheck' | 'test' | 'build')[]) {
  const commands = {
    lint: ['eslint', ['.']],
    typecheck: ['tsc', ['-p', 'tsconfig.json']],
    build: ['tsup', []],
    test: ['vitest', ['run', '--reporter=dot']],
  } as const;
  for (const step of steps) {
    const [tool, args] = commands[step];
    const result = ws.bin(tool, [...args], dir);
    expect(result.code, `${step} in ${dir}:\n${result.output}`).toBe(0);
  }
}

function expectOk(result: CommandResult): CommandResult {
  expect(result.code, result.output).toBe(0);
  return result;
}

async function callOverHttp(url: string, name: string, args: Record<string, unknown>) {
  const client = new Client({ name: 'cli-test', version: '0.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  try {
    const result = await client.callTool({ name, arguments: args });
    return (result.content as { type: string; text: string }[]).map((block) => block.text).join('');
  } finally {
    await client.close();
  }
}

describe('trellis new', () => {
  it('scaffolds a package that lints, typechecks, tests and builds without edits', () => {
    expectOk(ws.trellis(['new', 'package', 'sample-widget']));
    const dir = join(ws.root, 'packages', 'sample-widget');
    const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    expect(manifest.name).toBe('@trellis/sample-widget');
    expect(manifest.exports['.']['@trellis/source']).toBe('./src/index.ts');
    expectGreen(dir, ['lint', 'typecheck', 'test', 'build']);
    expect(existsSync(join(dir, 'dist', 'index.js'))).toBe(true);
    expect(existsSync(join(dir, 'dist', 'index.d.ts'))).toBe(true);
  });

  it('scaffolds a plugin, links it and says how to add it to an app', () => {
    const created = expectOk(ws.trellis(['new', 'plugin', 'greetings']));
    expect(created.output).toContain(`"@trellis/greetings": "workspace:*"`);
    expect(created.output).toContain(`import { greetings } from '@trellis/greetings';`);
    expect(created.output).toContain('new app <app> --plugins greetings');
    // Linked by the install the command ran: its workspace dependencies resolve.
    expect(
      existsSync(join(ws.root, 'packages', 'greetings', 'node_modules', '@trellis', 'server', 'package.json')),
    ).toBe(true);
  });

  it('adds a tool, a resource and a prompt to the plugin: lint, typecheck and test stay green', () => {
    const dir = join(ws.root, 'packages', 'greetings');
    expectOk(ws.trellis(['new', 'tool', 'word-count', '--plugin', 'greetings']));
    expectOk(ws.trellis(['new', 'resource', 'about', '--plugin', 'greetings']));
    // Inside the plugin's folder, --plugin is implied (npm and pnpm set INIT_CWD to it).
    expectOk(ws.trellis(['new', 'prompt', 'summarise'], { cwd: dir, env: { INIT_CWD: dir } }));
    const index = readFileSync(join(dir, 'src', 'index.ts'), 'utf8');
    expect(index).toContain("import { addWordCountTool } from './tools/word-count.js';");
    // Registered in the order they were added, at the top of setup.
    expect(index).toMatch(
      /setup\(scope\) \{\n\s+addWordCountTool\(scope\);\n\s+addAboutResource\(scope\);\n\s+addSummarisePrompt\(scope\);\n/,
    );
    for (const file of ['src/tools/word-count.test.ts', 'src/resources/about.test.ts', 'src/prompts/summarise.test.ts'])
      expect(existsSync(join(dir, file))).toBe(true);
    expectGreen(dir, ['lint', 'typecheck', 'test']);
    const again = ws.trellis(['new', 'tool', 'word-count', '--plugin', 'greetings']);
    expect(again.code).toBe(2);
    expect(again.output).toMatch(/already exists/);
  });

  it('scaffolds an app wired to the plugin (dependency, import, call, install) whose bundle serves a real client', async () => {
    expectOk(ws.trellis(['new', 'app', 'desk', '--plugins', 'greetings']));
    const dir = join(ws.root, 'apps', 'desk');
    const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    expect(manifest.dependencies).toMatchObject({
      '@trellis/greetings': 'workspace:*',
      '@trellis/transport': 'workspace:*',
    });
    expect(manifest.bin).toEqual({ 'trellis-desk': './dist/main.js' });
    const main = readFileSync(join(dir, 'src', 'main.ts'), 'utf8');
    expect(main).toContain("import { greetings } from '@trellis/greetings';");
    expect(main).toContain('plugins: [greetings()]');
    expectGreen(dir, ['lint', 'typecheck', 'build', 'test']);
    const client = new Client({ name: 'cli-test', version: '0.0.0' });
    await client.connect(
      new StdioClientTransport({ command: process.execPath, args: [join(dir, 'dist', 'main.js')], stderr: 'ignore' }),
    );
    try {
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name)).toEqual(expect.arrayContaining(['greetings_echo', 'word_count']));
    } finally {
      await client.close();
    }
  });

  it('refuses bad input with an error that names it, and changes nothing', () => {
    const cases: [string[], RegExp][] = [
      [['new', 'package', 'Bad_Name'], /lower-case/],
      [['new', 'package', 'config'], /already exists/],
      [['new', 'app', 'other', '--plugins', 'nope'], /no package named "nope"/],
      [['new', 'app', 'other', '--plugins', 'server'], /exports no server\(\)/],
      [['new', 'tool', 'x'], /needs --plugin/],
      [['new', 'tool', 'x', '--plugin', 'config'], /not a plugin/],
      [['new', 'widget', 'x'], /new what\?/],
      [['frobnicate'], /unknown verb "frobnicate"/],
      [['install', 'desk', '--client', 'emacs'], /--client must be one of claude-desktop, cursor, vscode/],
      [['dev', 'nope'], /no app named "nope".*have: .*desk/],
    ];
    for (const [args, message] of cases) {
      const result = ws.trellis(args);
      expect(result.code, `${args.join(' ')}: ${result.output}`).toBe(2);
      expect(result.stderr).toMatch(message);
    }
    expect(existsSync(join(ws.root, 'apps', 'other'))).toBe(false);
    expect(existsSync(join(ws.root, 'packages', 'config', 'src', 'tools'))).toBe(false);
  });
});

describe("the workspace's own commands", () => {
  it('run through trellis, with the pnpm the set-up found or installed', () => {
    const projects = expectOk(ws.trellis(['nx', 'show', 'projects'])).stdout.split('\n');
    expect(projects).toEqual(
      expect.arrayContaining(['@trellis/greetings', '@trellis-app/desk', '@trellis/sample-widget']),
    );
  });
});

describe('trellis install', () => {
  const bundle = () => join(ws.root, 'apps', 'desk', 'dist', 'main.js');

  it.each([
    [
      'claude-desktop',
      'mcpServers',
      '{\n  "mcpServers": {\n    "notes": { "command": "notes-server", "args": ["--ro"] }\n  },\n  "globalShortcut": "Ctrl+Space"\n}\n',
    ],
    ['cursor', 'mcpServers', '{\n  "mcpServers": {\n    "remote": { "url": "https://example.test/mcp" }\n  }\n}\n'],
    [
      'vscode',
      'servers',
      '{\n  // shared with the team\n  "servers": {\n    "github": { "type": "http", "url": "https://example.test/mcp" }\n  },\n  "inputs": []\n}\n',
    ],
  ])('writes the %s entry beside the others, with a backup', (client, key, original) => {
    const file = join(tempDir(), 'config.json');
    writeFileSync(file, original);
    const result = expectOk(
      ws.trellis(['install', 'desk', '--client', client, '--config', file, '--env', 'GREETING=Hi', '--no-build']),
    );
    expect(result.stderr).toMatch(/added "trellis-desk"/);
    const text = readFileSync(file, 'utf8');
    const config = parse(text) as Record<string, Record<string, unknown>>;
    const entry = { command: process.execPath, args: [bundle()], env: { GREETING: 'Hi' } };
    expect(config[key]!['trellis-desk']).toEqual(client === 'vscode' ? { type: 'stdio', ...entry } : entry);
    // Every other line is still there as it was, comments included.
    const before = parse(original) as Record<string, Record<string, unknown>>;
    for (const line of original.split('\n').filter((l) => l.trim() !== '' && !/^\s*}\s*$/.test(l)))
      expect(text).toContain(line.replace(/,$/, ''));
    expect(Object.keys(config[key]!)).toEqual([...Object.keys(before[key]!), 'trellis-desk']);
    const backups = readdirSync(join(file, '..')).filter((name) => name.endsWith('.bak'));
    expect(backups).toHaveLength(1);
    expect(readFileSync(join(file, '..', backups[0]!), 'utf8')).toBe(original);
    // Run again: nothing to change, no second backup.
    expect(
      expectOk(
        ws.trellis(['install', 'desk', '--client', client, '--config', file, '--env', 'GREETING=Hi', '--no-build']),
      ).stderr,
    ).toMatch(/already up to date/);
    expect(readdirSync(join(file, '..')).filter((name) => name.endsWith('.bak'))).toHaveLength(1);
  });

  it("builds the app, writes to the client's own file by default, and the entry starts a server a real client can use", async () => {
    const home = tempDir();
    expectOk(
      ws.trellis(['install', 'desk', '--client', 'claude-desktop'], {
        env: { HOME: home, XDG_CONFIG_HOME: undefined },
      }),
    );
    const file = join(home, '.config', 'Claude', 'claude_desktop_config.json');
    const entry = JSON.parse(readFileSync(file, 'utf8')).mcpServers['trellis-desk'] as {
      command: string;
      args: string[];
    };
    const client = new Client({ name: 'cli-test', version: '0.0.0' });
    await client.connect(new StdioClientTransport({ command: entry.command, args: entry.args, stderr: 'ignore' }));
    try {
      const result = await client.callTool({ name: 'word_count', arguments: { text: 'one two three' } });
      expect(result.structuredContent).toEqual({ characters: 13, words: 3 });
    } finally {
      await client.close();
    }
  });

  it('changes nothing with --dry-run and keeps --env values out of what it prints', () => {
    const file = join(tempDir(), 'mcp.json');
    writeFileSync(file, '{ "servers": {} }\n');
    const result = expectOk(
      ws.trellis([
        'install',
        'desk',
        '--client',
        'vscode',
        '--config',
        file,
        '--dry-run',
        '--env',
        'API_TOKEN=s3cret-value',
      ]),
    );
    expect(result.stderr).toMatch(/dry run: would add "trellis-desk"/);
    expect(JSON.parse(result.stdout)['trellis-desk']).toMatchObject({
      type: 'stdio',
      args: [bundle()],
      env: { API_TOKEN: '<set>' },
    });
    expect(result.output).not.toContain('s3cret-value');
    expect(readFileSync(file, 'utf8')).toBe('{ "servers": {} }\n');
    expect(readdirSync(join(file, '..'))).toEqual(['mcp.json']);
  });

  it('refuses a file that is not JSON and leaves it alone', () => {
    const file = join(tempDir(), 'broken.json');
    writeFileSync(file, '{ "mcpServers": ');
    const result = ws.trellis(['install', 'desk', '--client', 'cursor', '--config', file, '--no-build']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/is not valid JSON .*nothing was changed/);
    expect(readFileSync(file, 'utf8')).toBe('{ "mcpServers": ');
  });
});

describe('trellis dev', () => {
  it('serves over HTTP, picks up an edit to a tool, and keeps the last good build through broken edits', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/mcp`;
    const index = join(ws.root, 'packages', 'greetings', 'src', 'index.ts');
    const original = readFileSync(index, 'utf8');
    const echo = 'handler: ({ text }) => text,';
    expect(original).toContain(echo);
    const dev = ws.trellisInBackground(['dev', 'desk', '--port', String(port)], { env: { LOG_LEVEL: 'warn' } });
    try {
      await dev.waitFor(/serving build 1 of desk/, { timeoutMs: 90_000 });
      expect(dev.output()).toContain(url);
      expect(dev.output()).toContain('"mcpServers"'); // the client configuration to paste
      expect(await callOverHttp(url, 'greetings_echo', { text: 'hi' })).toBe('hi');

      // An edit saved the way editors save: a new file renamed over the old one.
      let mark = dev.output().length;
      writeFileSync(`${index}.tmp`, original.replace(echo, 'handler: ({ text }) => text.toUpperCase(),'));
      renameSync(`${index}.tmp`, index);
      await dev.waitFor(/serving build 2 of desk/, { from: mark, timeoutMs: 90_000 });
      expect(await callOverHttp(url, 'greetings_echo', { text: 'hi' })).toBe('HI');

      // An edit that does not compile: the last good build keeps serving.
      mark = dev.output().length;
      writeFileSync(index, original.replace(echo, 'handler: ({ text }) => text.toUpperCase(,'));
      await dev.waitFor(/build 3 failed; still serving build 2/, { from: mark, timeoutMs: 90_000 });
      expect(await callOverHttp(url, 'greetings_echo', { text: 'hi' })).toBe('HI');

      // An edit that builds but cannot start: the last good build is started again.
      mark = dev.output().length;
      writeFileSync(
        index,
        original.replace('setup(scope) {', "setup(scope) {\n      throw new Error('broken at start');"),
      );
      await dev.waitFor(/build 4 does not start[^]*serving build 2 again/, { from: mark, timeoutMs: 90_000 });
      expect(await callOverHttp(url, 'greetings_echo', { text: 'hi' })).toBe('HI');

      mark = dev.output().length;
      writeFileSync(index, original.replace(echo, 'handler: ({ text }) => `${text}!`,'));
      await dev.waitFor(/serving build 5 of desk/, { from: mark, timeoutMs: 90_000 });
      expect(await callOverHttp(url, 'greetings_echo', { text: 'hi' })).toBe('hi!');

      // Another server on the port: refused up front, by name.
      const clash = ws.trellis(['dev', 'desk', '--port', String(port)]);
      expect(clash.code).toBe(2);
      expect(clash.stderr).toMatch(new RegExp(`127\\.0\\.0\\.1:${port} is not free`));
    } finally {
      const code = await dev.stop('SIGINT');
      writeFileSync(index, original);
      expect(code, dev.output()).toBe(0);
    }
    expect(dev.output()).toMatch(/\[trellis dev\] stopped/);
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
  }, 240_000);
});

describe('trellis inspect', () => {
  it('runs the Inspector CLI against the app', () => {
    const result = expectOk(
      ws.trellis([
        'inspect',
        'desk',
        '--cli',
        '--method',
        'tools/call',
        '--tool-name',
        'word_count',
        '--tool-arg',
        'text=hello inspector',
      ]),
    );
    expect(JSON.parse(result.stdout).structuredContent).toEqual({ characters: 15, words: 2 });
  }, 240_000);

  it('serves the Inspector web UI set up for the app, until stopped', async () => {
    const [clientPort, sandboxPort] = [await freePort(), await freePort()];
    const home = tempDir();
    mkdirSync(join(home, '.config'), { recursive: true });
    const env = {
      CLIENT_PORT: String(clientPort),
      MCP_SANDBOX_PORT: String(sandboxPort),
      MCP_AUTO_OPEN_ENABLED: 'false',
      HOME: home,
    };
    const inspector = ws.trellisInBackground(['inspect', 'desk'], { env });
    try {
      const [, address, token] = await inspector.waitFor(
        /up and running at:\s+(http:\/\/\S+?)\?MCP_INSPECTOR_API_TOKEN=([0-9a-f]+)/,
        { timeoutMs: 120_000 },
      );
      expect((await fetch(address!)).status).toBe(200);
      const config = (await (
        await fetch(`${address}/api/config`, { headers: { 'x-mcp-remote-auth': `Bearer ${token}` } })
      ).json()) as Record<string, unknown>;
      expect(JSON.stringify(config)).toContain(join(ws.root, 'apps', 'desk', 'dist', 'main.js'));
    } finally {
      expect(await inspector.stop('SIGINT'), inspector.output()).toBe(0);
    }
  }, 240_000);
});
