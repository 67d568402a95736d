import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ProtocolError, ProtocolErrorCode, ResourceNotFoundError } from '@modelcontextprotocol/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileAccessError, ResourceRegistry, type FileAccessCode, type ResourceTemplateSpec } from '../index.js';
import { fileResources } from './index.js';

interface Ctx {
  signal: AbortSignal;
}

const ctx: Ctx = { signal: new AbortController().signal };
const PNG = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex');

let base: string;
let root: string;
let root2: string;
let outside: string;
let hasFifo = false;
let files: ResourceTemplateSpec<Ctx>;

const url = (path: string) => pathToFileURL(path).href;

beforeAll(() => {
  base = realpathSync(mkdtempSync(join(tmpdir(), 'trellis-files-')));
  root = join(base, 'root');
  root2 = join(base, 'root2');
  outside = join(base, 'outside');
  for (const dir of [
    root,
    root2,
    outside,
    join(root, 'docs'),
    join(root, 'a b'),
    join(root, '.hidden'),
    join(root, 'node_modules', 'pkg'),
  ]) {
    mkdirSync(dir, { recursive: true });
  }
  writeFileSync(join(root, 'notes.txt'), 'hello from notes');
  writeFileSync(join(root, 'docs', 'readme.md'), '# Readme');
  writeFileSync(join(root, 'a b', 'c d.txt'), 'spaced');
  writeFileSync(join(root, 'image.png'), PNG);
  writeFileSync(join(root, 'data.bin'), Buffer.from([0, 1, 2, 255]));
  writeFileSync(join(root, 'Makefile'), 'all:\n\ttrue\n');
  writeFileSync(join(root, 'latin1.txt'), Buffer.from([0x63, 0x61, 0x66, 0xe9]));
  writeFileSync(join(root, 'big.txt'), 'x'.repeat(2048));
  writeFileSync(join(root, 'exact.txt'), 'y'.repeat(1024));
  writeFileSync(join(root, '.hidden', 'secret.txt'), 'hidden');
  writeFileSync(join(root, 'node_modules', 'pkg', 'index.js'), 'module.exports = 1;');
  writeFileSync(join(root2, 'other.txt'), 'from root2');
  writeFileSync(join(outside, 'secret.txt'), 'top secret');
  symlinkSync(outside, join(root, 'link-out'));
  symlinkSync(join(outside, 'secret.txt'), join(root, 'file-out.txt'));
  symlinkSync(join(root, 'notes.txt'), join(root, 'link-in.txt'));
  hasFifo = spawnSync('mkfifo', [join(root, 'pipe')]).status === 0;
  files = fileResources<Ctx>({ roots: [root, root2], maxBytes: 1024 });
});

afterAll(() => {
  rmSync(base, { recursive: true, force: true });
});

async function read(uri: string) {
  const contents = await files.read(uri, {}, ctx);
  if (!Array.isArray(contents) || contents.length !== 1) throw new Error('expected one content item');
  return contents[0]!;
}

async function refusal(uri: string): Promise<FileAccessError> {
  const error = await Promise.resolve(files.read(uri, {}, ctx)).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, uri).toBeInstanceOf(FileAccessError);
  return error as FileAccessError;
}

async function expectRefused(uri: string, code: FileAccessCode): Promise<FileAccessError> {
  const error = await refusal(uri);
  expect(error.code, uri).toBe(code);
  // The message echoes the URI asked for, and names nothing else outside the roots.
  expect(error.message.replace(uri, '')).not.toContain(outside);
  return error;
}

describe('fileResources: reading', () => {
  it('reads text files as text with a MIME type from the extension', async () => {
    expect(await read(url(join(root, 'notes.txt')))).toEqual({
      uri: url(join(root, 'notes.txt')),
      mimeType: 'text/plain',
      text: 'hello from notes',
    });
    expect(await read(url(join(root, 'docs', 'readme.md')))).toMatchObject({
      mimeType: 'text/markdown',
      text: '# Readme',
    });
    expect(await read(url(join(root, 'Makefile')))).toMatchObject({ mimeType: 'text/plain', text: 'all:\n\ttrue\n' });
  });

  it('reads binary files as base64 blobs with their MIME type', async () => {
    expect(await read(url(join(root, 'image.png')))).toEqual({
      uri: url(join(root, 'image.png')),
      mimeType: 'image/png',
      blob: PNG.toString('base64'),
    });
    expect(await read(url(join(root, 'data.bin')))).toMatchObject({
      mimeType: 'application/octet-stream',
      blob: 'AAEC/w==',
    });
    expect(await read(url(join(root, 'latin1.txt')))).toMatchObject({ mimeType: 'text/plain', blob: 'Y2Fm6Q==' });
  });

  it('reads percent-encoded names, files in every root, and symlinks that stay inside', async () => {
    expect(url(join(root, 'a b', 'c d.txt'))).toContain('a%20b/c%20d.txt');
    expect(await read(url(join(root, 'a b', 'c d.txt')))).toMatchObject({ text: 'spaced' });
    expect(await read(url(join(root2, 'other.txt')))).toMatchObject({ text: 'from root2' });
    expect(await read(url(join(root, 'link-in.txt')))).toMatchObject({ text: 'hello from notes' });
  });

  it('refuses files over maxBytes with the limit in the message, and reads one exactly at it', async () => {
    const error = await expectRefused(url(join(root, 'big.txt')), 'TOO_LARGE');
    expect(error.message).toMatch(/2\.0 KiB, over the limit of 1\.0 KiB \(maxBytes 1024\)/);
    expect(await read(url(join(root, 'exact.txt')))).toMatchObject({ text: 'y'.repeat(1024) });
  });

  it('stops reading when the request is aborted', async () => {
    const controller = new AbortController();
    controller.abort(new Error('client cancelled'));
    await expect(
      Promise.resolve(files.read(url(join(root, 'notes.txt')), {}, { signal: controller.signal })),
    ).rejects.toThrow('client cancelled');
  });

  it('answers NOT_FOUND for a missing file and NOT_A_FILE for directories and FIFOs', async () => {
    await expectRefused(url(join(root, 'missing.txt')), 'NOT_FOUND');
    await expectRefused(url(join(root, 'docs')), 'NOT_A_FILE');
    if (hasFifo) await expectRefused(url(join(root, 'pipe')), 'NOT_A_FILE');
  });
});

describe('fileResources: traversal', () => {
  const rootUri = () => url(root);

  it('refuses ".." and "." segments', async () => {
    await expectRefused(`${rootUri()}/../outside/secret.txt`, 'BAD_PATH');
    await expectRefused(`${rootUri()}/docs/../notes.txt`, 'BAD_PATH');
    await expectRefused(`${rootUri()}/./notes.txt`, 'BAD_PATH');
    await expectRefused(`${rootUri()}//notes.txt`, 'BAD_PATH');
  });

  it('refuses percent-encoded traversal and separators, in any case', async () => {
    await expectRefused(`${rootUri()}/%2e%2e/outside/secret.txt`, 'BAD_PATH');
    await expectRefused(`${rootUri()}/%2E%2E/outside/secret.txt`, 'BAD_PATH');
    await expectRefused(`${rootUri()}/..%2Foutside%2Fsecret.txt`, 'BAD_PATH');
    await expectRefused(`${rootUri()}/docs%5c..%5c..%5coutside`, 'BAD_PATH');
  });

  it('refuses double encoding', async () => {
    await expectRefused(`${rootUri()}/%252e%252e/outside/secret.txt`, 'BAD_PATH');
    await expectRefused(`${rootUri()}/%252e%252e%252foutside`, 'BAD_PATH');
  });

  it('refuses absolute paths outside the roots without revealing whether they exist', async () => {
    const existing = await expectRefused(url(join(outside, 'secret.txt')), 'OUTSIDE_ROOT');
    const missing = await expectRefused(url(join(outside, 'nothing.txt')), 'OUTSIDE_ROOT');
    expect(existing.message).toContain(`allowed roots (${url(root)}/, ${url(root2)}/)`);
    expect(missing.message.replace('nothing.txt', 'secret.txt')).toBe(existing.message);
    await expectRefused('file:///etc/passwd', 'OUTSIDE_ROOT');
    await expectRefused(`file://${base}/rootless.txt`, 'OUTSIDE_ROOT');
  });

  it('refuses symlinks whose target leaves the root, for files and directories alike', async () => {
    await expectRefused(url(join(root, 'file-out.txt')), 'OUTSIDE_ROOT');
    await expectRefused(url(join(root, 'link-out', 'secret.txt')), 'OUTSIDE_ROOT');
    // A missing file behind an escaping link is refused the same way, not NOT_FOUND.
    await expectRefused(url(join(root, 'link-out', 'nothing.txt')), 'OUTSIDE_ROOT');
  });

  it('refuses NUL bytes, raw or encoded, and other control characters', async () => {
    await expectRefused(`${rootUri()}/notes.txt\u0000.png`, 'BAD_PATH');
    await expectRefused(`${rootUri()}/notes.txt%00.png`, 'BAD_PATH');
    await expectRefused(`${rootUri()}/notes%0a.txt`, 'BAD_PATH');
  });

  it('refuses over-long and over-deep paths before touching the file system, at a cost independent of their length', async () => {
    const huge = `${url(root)}/${'missing/'.repeat(50_000)}x.txt`;
    const started = performance.now();
    const error = await Promise.resolve()
      .then(() => files.read(huge, {}, ctx))
      .then(
        () => undefined,
        (e: unknown) => e as FileAccessError,
      );
    expect(performance.now() - started).toBeLessThan(500);
    expect(error).toMatchObject({
      code: 'BAD_PATH',
      message: expect.stringMatching(/paths are limited to 4096 bytes \(maxPathBytes\)/),
    });
    expect(error!.message.length).toBeLessThan(500);
    expect(error!.uri.length).toBeLessThan(300);
    await expectRefused(`${url(root)}/${'d/'.repeat(70)}x.txt`, 'BAD_PATH');
    await expect(files.read(`${url(root)}/${'d/'.repeat(70)}x.txt`, {}, ctx)).rejects.toThrow(
      /segments, over the limit of 64 \(maxPathDepth\)/,
    );
    await expect(files.read(`${url(root)}/${'n'.repeat(256)}`, {}, ctx)).rejects.toThrow(/limited to 255 bytes/);
    // The decoded length counts bytes: 18 names of 80 three-byte characters are 4320 bytes in 1458 characters.
    await expect(files.read(`${url(root)}/${Array(18).fill('€'.repeat(80)).join('/')}`, {}, ctx)).rejects.toThrow(
      /bytes long, over the limit of 4096/,
    );
    const strict = fileResources<Ctx>({ roots: [root], maxPathBytes: 1024, maxPathDepth: 3 });
    await expect(strict.read(`${url(root)}/a/b/c/d.txt`, {}, ctx)).rejects.toThrow(
      /over the limit of 3 \(maxPathDepth\)/,
    );
    // Within the limits, a missing file is still NOT_FOUND.
    await expectRefused(`${url(root)}/${'deep/'.repeat(40)}missing.txt`, 'NOT_FOUND');
  });

  it('refuses query strings, fragments, backslashes and other hosts', async () => {
    await expectRefused(`${rootUri()}/notes.txt?x=1`, 'BAD_PATH');
    await expectRefused(`${rootUri()}/notes.txt#top`, 'BAD_PATH');
    await expectRefused(`${rootUri()}\\..\\outside`, 'BAD_PATH');
    await expectRefused(`file://evil.example${root}/notes.txt`, 'BAD_PATH');
  });
});

describe('fileResources: through the registry', () => {
  function registry() {
    const r = new ResourceRegistry<Ctx>({ pageSize: 500 });
    r.addTemplate(fileResources({ roots: [root, root2], maxBytes: 1024, listLimit: 50 }), 'files');
    return r;
  }

  it('reads by URI and maps refusals to protocol errors', async () => {
    const r = registry();
    expect((await r.read(url(join(root, 'notes.txt')), ctx)).contents[0]).toMatchObject({ text: 'hello from notes' });
    await expect(r.read(url(join(root, 'missing.txt')), ctx)).rejects.toBeInstanceOf(ResourceNotFoundError);
    const error = await r.read(`${url(root)}/%2e%2e/outside/secret.txt`, ctx).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProtocolError);
    expect(error).not.toBeInstanceOf(ResourceNotFoundError);
    expect(error).toMatchObject({ code: ProtocolErrorCode.InvalidParams, data: { reason: 'BAD_PATH' } });
  });

  it('lists files breadth first, skipping dot entries, node_modules and symlinks', async () => {
    const { resources } = await registry().list(undefined, ctx);
    const names = resources.map((r) => r.name);
    expect(names).toEqual([
      'Makefile',
      'big.txt',
      'data.bin',
      'exact.txt',
      'image.png',
      'latin1.txt',
      'notes.txt',
      'a b/c d.txt',
      'docs/readme.md',
      'other.txt',
    ]);
    expect(resources.find((r) => r.name === 'image.png')).toEqual({
      uri: url(join(root, 'image.png')),
      name: 'image.png',
      mimeType: 'image/png',
    });
    expect(resources.find((r) => r.name === 'Makefile')).not.toHaveProperty('mimeType');
  });

  it('bounds the listing by listLimit', async () => {
    const limited = fileResources<Ctx>({ roots: [root], listLimit: 3 });
    expect(await limited.list!(ctx)).toHaveLength(3);
    expect(await fileResources<Ctx>({ roots: [root], listLimit: 0 }).list!(ctx)).toEqual([]);
  });

  it('completes path segments under the roots', async () => {
    const r = registry();
    const complete = (value: string) => r.complete('file:///{+path}', 'path', value, {}, ctx).then((c) => c.values);
    const rel = root.slice(1);
    expect(await complete('')).toEqual([`${rel}/`, `${root2.slice(1)}/`]);
    expect(await complete(rel.slice(0, -2))).toEqual([`${rel}/`, `${root2.slice(1)}/`]);
    // The FIFO and the symlinks that leave the root are not offered.
    expect(await complete(`${rel}/`)).toEqual(
      [
        'Makefile',
        'a b/',
        'big.txt',
        'data.bin',
        'docs/',
        'exact.txt',
        'image.png',
        'latin1.txt',
        'link-in.txt',
        'node_modules/',
        'notes.txt',
      ].map((n) => `${rel}/${n}`),
    );
    expect(await complete(`${rel}/do`)).toEqual([`${rel}/docs/`]);
    expect(await complete(`${rel}/docs/`)).toEqual([`${rel}/docs/readme.md`]);
    expect(await complete(`${rel}/.`)).toEqual([`${rel}/.hidden/`]);
    expect(await complete(`${rel}/link-out/`)).toEqual([]);
    expect(await complete(`${rel}/../`)).toEqual([]);
    expect(await complete(`${rel}/${'x'.repeat(5000)}`)).toEqual([]);
  });

  it('validates its options', () => {
    expect(() => fileResources({ roots: [] })).toThrow(/roots must be a non-empty array/);
    expect(() => fileResources({ roots: [join(base, 'nope')] })).toThrow(/does not exist/);
    expect(() => fileResources({ roots: [join(root, 'notes.txt')] })).toThrow(/is not a directory/);
    expect(() => fileResources({ roots: [root], maxBytes: 0 })).toThrow(/maxBytes must be an integer ≥ 1, got 0/);
    expect(() => fileResources({ roots: [root], maxPathDepth: 0 })).toThrow(
      /maxPathDepth must be an integer ≥ 1, got 0/,
    );
  });
});
