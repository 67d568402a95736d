import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { files } from '@trellis/files';
import { createServer, type TrellisServer } from '@trellis/server';
import { connectInProcess, textOf } from '@trellis/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { hashFile } from '../src/index.js';

const base = mkdtempSync(join(tmpdir(), 'trellis-hash-file-'));
const root = join(base, 'root');
mkdirSync(join(root, 'nested'), { recursive: true });
const big = Buffer.alloc(3 * 1024 * 1024 + 17, 7); // over one read chunk, over FILES_MAX_BYTES
writeFileSync(join(root, 'nested', 'big.bin'), big);
writeFileSync(join(root, 'hello.txt'), 'hello');
writeFileSync(join(base, 'outside.txt'), 'secret');
symlinkSync(join(base, 'outside.txt'), join(root, 'link-out.txt'));
const audit = join(base, 'audit.log');
afterAll(() => rmSync(base, { recursive: true, force: true }));

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

function serverWith(env: Record<string, string> = {}): TrellisServer {
  return createServer({
    name: 'test',
    version: '0.0.0',
    plugins: [files({ roots: [root] }), hashFile()],
    configSources: { argv: [], env: { LOG_LEVEL: 'silent', ...env }, envFiles: [] },
  });
}

describe.each(['legacy', 'modern'] as const)('hash_file through a real client (%s)', (era) => {
  it('hashes a file under the roots on a worker thread, by path or URI, whatever its size', async () => {
    const server = serverWith();
    await server.start();
    const { client, close } = await connectInProcess(server, { era });
    try {
      const byPath = await client.callTool({ name: 'hash_file', arguments: { path: join(root, 'nested', 'big.bin') } });
      expect(byPath.isError).toBeFalsy();
      expect(byPath.structuredContent).toEqual({
        uri: pathToFileURL(join(root, 'nested', 'big.bin')).href,
        sha256: sha256(big),
        bytes: big.length,
      });
      const uri = pathToFileURL(join(root, 'hello.txt')).href;
      const byUri = await client.callTool({ name: 'hash_file', arguments: { path: uri } });
      expect(textOf(byUri)).toBe(`SHA-256 of ${uri} (5 bytes): ${sha256('hello')}`);
    } finally {
      await close();
      await server.close();
    }
  });

  it('refuses files outside the roots, symlinks out, directories and relative paths, with the reason', async () => {
    const server = serverWith();
    await server.start();
    const { client, close } = await connectInProcess(server, { era });
    try {
      const refuse = async (path: string) => {
        const result = await client.callTool({ name: 'hash_file', arguments: { path } });
        expect(result.isError).toBe(true);
        return textOf(result);
      };
      expect(await refuse(join(base, 'outside.txt'))).toMatch(/outside the allowed roots/);
      expect(await refuse(join(root, 'link-out.txt'))).toMatch(/outside the allowed roots/);
      expect(await refuse(join(root, 'nested', '..', '..', 'outside.txt'))).toMatch(/outside the allowed roots/);
      expect(await refuse(join(root, 'nested'))).toMatch(/directory/);
      expect(await refuse(join(root, 'missing.txt'))).toMatch(/No file at/);
      expect(await refuse('hello.txt')).toMatch(/path must be absolute or a file:\/\/\/ URI/);
      expect(JSON.stringify(await refuse(join(base, 'outside.txt')))).not.toContain('secret');
    } finally {
      await close();
      await server.close();
    }
  });
});

describe('hash_file follow-up', () => {
  it('appends each answer to HASH_AUDIT_LOG in the background, drained when the server closes', async () => {
    const server = serverWith({ HASH_AUDIT_LOG: audit });
    await server.start();
    const { client, close } = await connectInProcess(server, { era: 'modern' });
    await client.callTool({ name: 'hash_file', arguments: { path: join(root, 'hello.txt') } });
    await close();
    await server.close();
    const lines = readFileSync(audit, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines).toEqual([
      { at: expect.any(String), uri: pathToFileURL(join(root, 'hello.txt')).href, sha256: sha256('hello'), bytes: 5 },
    ]);
  });
});
