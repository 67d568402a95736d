import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createServer, definePlugin, type TrellisServer } from '@trellis/server';
import { connectInProcess } from '@trellis/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { files, filesServiceKey, type FilesService } from '../src/index.js';

// Two roots side by side, and a secret next to them that must stay unreachable.
const base = realpathSync(mkdtempSync(join(tmpdir(), 'trellis-files-')));
const docs = join(base, 'docs');
const notes = join(base, 'notes');
mkdirSync(join(docs, 'guides'), { recursive: true });
mkdirSync(notes);
writeFileSync(join(docs, 'readme.md'), '# Readme\n');
writeFileSync(join(docs, 'guides', 'start.md'), '# Start here\n');
writeFileSync(join(docs, 'big.txt'), 'x'.repeat(300));
writeFileSync(join(notes, 'todo.txt'), 'buy milk');
writeFileSync(join(base, 'secret.txt'), 'top secret');
symlinkSync(join(base, 'secret.txt'), join(docs, 'escape.txt'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

const uri = (path: string) => pathToFileURL(path).href;

function serverWith(env: Record<string, string>, extra: ReturnType<typeof definePlugin>[] = []): TrellisServer {
  return createServer({
    name: 'test',
    version: '0.0.0',
    plugins: [files({ roots: [docs] }), ...extra],
    configSources: { argv: [], env: { LOG_LEVEL: 'silent', ...env }, envFiles: [] },
  });
}

describe.each(['legacy', 'modern'] as const)('files plugin through a real client (%s)', (era) => {
  let server: TrellisServer;
  let connection: Awaited<ReturnType<typeof connectInProcess>>;
  beforeAll(async () => {
    server = serverWith({ FILES_ROOT: `${docs},${notes}`, FILES_MAX_BYTES: '200' });
    await server.start();
    connection = await connectInProcess(server, { era });
  });
  afterAll(async () => {
    await connection.close();
    await server.close();
  });

  it('lists the template and the files of every root', async () => {
    const { resourceTemplates } = await connection.client.listResourceTemplates();
    expect(resourceTemplates).toContainEqual(
      expect.objectContaining({ uriTemplate: 'file:///{+path}', name: 'files' }),
    );
    const { resources } = await connection.client.listResources();
    const uris = resources.map((r) => r.uri);
    expect(uris).toEqual(
      expect.arrayContaining([
        uri(join(docs, 'readme.md')),
        uri(join(docs, 'guides', 'start.md')),
        uri(join(notes, 'todo.txt')),
      ]),
    );
  });

  it('reads files under any root', async () => {
    const read = await connection.client.readResource({ uri: uri(join(notes, 'todo.txt')) });
    expect(read.contents[0]).toMatchObject({ text: 'buy milk', mimeType: 'text/plain' });
    const md = await connection.client.readResource({ uri: uri(join(docs, 'guides', 'start.md')) });
    expect((md.contents[0] as { text: string }).text).toBe('# Start here\n');
  });

  it('completes paths inside the roots', async () => {
    const complete = (value: string) =>
      connection.client.complete({
        ref: { type: 'ref/resource', uri: 'file:///{+path}' },
        argument: { name: 'path', value },
      });
    const inside = await complete(`${docs.slice(1)}/g`);
    expect(inside.completion.values).toEqual([`${docs.slice(1)}/guides/`]);
    const above = await complete('');
    expect(above.completion.values).toEqual(expect.arrayContaining([`${docs.slice(1)}/`, `${notes.slice(1)}/`]));
  });

  it.each([
    ['a file outside every root', () => uri(join(base, 'secret.txt')), /outside the allowed roots/],
    ['/etc/passwd', () => 'file:///etc/passwd', /outside the allowed roots/],
    ['a ".." segment', () => `${uri(docs)}/../secret.txt`, /segments are not allowed/],
    ['an encoded ".."', () => `${uri(docs)}/%2e%2e/secret.txt`, /percent-encoded/],
    ['double encoding', () => `${uri(docs)}/%252e%252e/secret.txt`, /double percent-encoding/],
    ['a symlink that points out', () => uri(join(docs, 'escape.txt')), /outside the allowed roots/],
    ['a file over FILES_MAX_BYTES', () => uri(join(docs, 'big.txt')), /over the limit of 200 bytes/],
  ])('refuses %s through the client', async (_what, target, message) => {
    const error = await connection.client.readResource({ uri: target() }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error).toBeInstanceOf(Error);
    expect(error!.message).toMatch(message);
    expect(error!.message).not.toContain('top secret');
  });
});

describe('files plugin set-up', () => {
  it('summarizes each root for dependent plugins', async () => {
    let service: FilesService | undefined;
    const consumer = definePlugin({
      name: 'consumer',
      dependsOn: ['files'],
      setup: (scope) => void (service = scope.service(filesServiceKey)),
    });
    const server = serverWith({ FILES_ROOT: `${docs},${notes}`, FILES_MAX_BYTES: '200' }, [consumer]);
    await server.start();
    try {
      const summary = await service!.summarize();
      expect(summary.maxBytes).toBe(200);
      expect(summary.roots[0]).toMatchObject({
        root: docs,
        uri: `${uri(docs)}/`,
        files: 3,
        directories: 1,
        overLimit: 1,
        largest: { path: 'big.txt', bytes: 300 },
        truncated: false,
      });
      expect(summary.roots[1]).toMatchObject({ root: notes, files: 1, bytes: 8 });
      expect(summary.totals).toEqual({ files: 4, directories: 1, bytes: summary.roots[0]!.bytes + 8 });
      expect((await service!.summarize({ maxEntries: 2 })).roots[0]!.truncated).toBe(true);
      await expect(service!.summarize({ signal: AbortSignal.abort(new Error('stop')) })).rejects.toThrow('stop');
    } finally {
      await server.close();
    }
  });

  it('uses the roots given in code when FILES_ROOT is not set', async () => {
    const server = serverWith({});
    await server.start();
    const { client, close } = await connectInProcess(server);
    try {
      const read = await client.readResource({ uri: uri(join(docs, 'readme.md')) });
      expect((read.contents[0] as { text: string }).text).toBe('# Readme\n');
    } finally {
      await close();
      await server.close();
    }
  });

  it('fails to start, naming FILES_ROOT, for a missing root or none at all', async () => {
    await expect(serverWith({ FILES_ROOT: '/nonexistent/trellis-files' }).start()).rejects.toThrow(
      /FILES_ROOT: root "\/nonexistent\/trellis-files" does not exist/,
    );
    const none = createServer({
      name: 't',
      version: '0',
      plugins: [files()],
      configSources: { argv: [], env: { LOG_LEVEL: 'silent' }, envFiles: [] },
    });
    await expect(none.start()).rejects.toThrow(/FILES_ROOT is empty/);
  });

  it('refuses a bad FILES_MAX_BYTES with a configuration error naming it', async () => {
    await expect(serverWith({ FILES_MAX_BYTES: 'lots' }).start()).rejects.toThrow(/FILES_MAX_BYTES/);
  });
});
