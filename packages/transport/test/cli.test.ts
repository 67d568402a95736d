import { PassThrough } from 'node:stream';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildFixture, RawChild } from './fixtures/stdio-harness.js';

let fixture: string;
beforeAll(async () => {
  fixture = await buildFixture();
});

const baseEnv = { PATH: process.env.PATH ?? '', LOG_LEVEL: 'warn' };
const textOf = (result: unknown) => (result as { content: Array<{ text: string }> }).content[0]?.text;

describe('run(): the shared command line', () => {
  it('--help lists every flag and variable, on stdout, and exits 0', async () => {
    const raw = new RawChild(fixture, ['--help'], baseEnv);
    expect((await raw.exit).code).toBe(0);
    const help = raw.lines.join('\n');
    for (const item of [
      '--transport',
      'TRELLIS_TRANSPORT',
      '--port',
      'PORT',
      '--host',
      'HOST',
      '--log-level',
      'LOG_LEVEL',
      'SHUTDOWN_GRACE_MS',
      'STDIO_MAX_MESSAGE_BYTES',
      'The transport tests fixture.',
    ]) {
      expect(help).toContain(item);
    }
    expect(help).toMatch(/default: "?stdio"?/);
    expect(raw.stderr).toBe('');
  });

  it('names both bad variables on stderr, writes nothing to stdout, and exits 2 before serving', async () => {
    const raw = new RawChild(fixture, [], { ...baseEnv, TRELLIS_TRANSPORT: 'pigeon', LOG_LEVEL: 'loud' });
    expect((await raw.exit).code).toBe(2);
    expect(raw.lines).toEqual([]);
    expect(raw.partial).toBe('');
    expect(raw.stderr).toContain('TRELLIS_TRANSPORT');
    expect(raw.stderr).toContain('LOG_LEVEL');
    expect(raw.stderr).toMatch(/^Invalid configuration/);
  });

  it('reports a bad flag by its flag name', async () => {
    const raw = new RawChild(fixture, ['--transport', 'carrier', '--port', 'abc'], baseEnv);
    expect((await raw.exit).code).toBe(2);
    expect(raw.lines).toEqual([]);
    expect(raw.stderr).toContain('--transport');
    expect(raw.stderr).toContain('--port');
  });

  it('on SIGTERM lets a call that fits in the grace period finish, then exits 0', async () => {
    const raw = new RawChild(fixture, [], { ...baseEnv, SHUTDOWN_GRACE_MS: '20s' });
    await raw.initialize();
    const answer = raw.request('tools/call', { name: 'slow', arguments: { ms: 1500, tag: 'fits' } });
    await raw.stderrIncludes('FIXTURE slow started fits');
    raw.child.kill('SIGTERM');
    expect(textOf((await answer).result)).toBe('slept 1500');
    expect((await raw.exit).code).toBe(0);
    expect(raw.stderr).toContain('FIXTURE slow completed fits');
  });

  it('on SIGTERM aborts a call that outlives the grace period (the tool sees ctx.signal), then exits 0', async () => {
    const raw = new RawChild(fixture, [], { ...baseEnv, SHUTDOWN_GRACE_MS: '300ms' });
    await raw.initialize();
    void raw.request('tools/call', { name: 'slow', arguments: { ms: 120_000, tag: 'late' } });
    await raw.stderrIncludes('FIXTURE slow started late');
    raw.child.kill('SIGTERM');
    expect((await raw.exit).code).toBe(0);
    expect(raw.stderr).toContain('FIXTURE slow aborted late');
    expect(raw.stderr).not.toContain('FIXTURE slow completed late');
  });

  it('refuses new requests while draining, and exits at once on a second signal', async () => {
    const raw = new RawChild(fixture, [], { ...baseEnv, LOG_LEVEL: 'info', SHUTDOWN_GRACE_MS: '60s' });
    await raw.initialize();
    void raw.request('tools/call', { name: 'slow', arguments: { ms: 120_000, tag: 'twice' } });
    await raw.stderrIncludes('FIXTURE slow started twice');
    raw.child.kill('SIGINT');
    await raw.stderrIncludes('shutting down');
    const refused = await raw.request('tools/list');
    expect(refused.error?.message).toMatch(/shutting down/i);
    raw.child.kill('SIGINT');
    expect((await raw.exit).code).toBe(130);
  });

  it('serves HTTP with --transport http and prints the URL and a client configuration to stderr', async () => {
    const raw = new RawChild(fixture, ['--transport', 'http', '--port', '0'], baseEnv);
    await raw.stderrIncludes('"mcpServers"');
    const url = /serving MCP on (http:\/\/\S+)/.exec(raw.stderr)?.[1];
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
    const config = JSON.parse(raw.stderr.slice(raw.stderr.indexOf('{'), raw.stderr.lastIndexOf('}') + 1)) as {
      mcpServers: Record<string, { type: string; url: string }>;
    };
    expect(config.mcpServers.fixture).toEqual({ type: 'http', url });
    expect(raw.lines).toEqual([]);
    raw.child.kill('SIGTERM');
    expect((await raw.exit).code).toBe(0);
  });
});

describe('run() in process', () => {
  it('takes argv, env, streams and exit from the caller', async () => {
    const { run } = await import('../src/index.js');
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let out = '';
    let err = '';
    stdout.on('data', (c: Buffer) => (out += c.toString()));
    stderr.on('data', (c: Buffer) => (err += c.toString()));
    const codes: number[] = [];
    const app = await run(
      { name: 'inproc', version: '0.0.1', plugins: [] },
      {
        argv: ['--log-level', 'verbose'],
        env: { SHUTDOWN_GRACE_MS: 'later' },
        envFiles: [],
        stdout,
        stderr,
        exit: (code) => codes.push(code),
        signals: false,
      },
    );
    expect(await app.exited).toBe(2);
    expect(codes).toEqual([2]);
    expect(out).toBe('');
    expect(err).toContain('--log-level');
    expect(err).toContain('SHUTDOWN_GRACE_MS');
  });
});
