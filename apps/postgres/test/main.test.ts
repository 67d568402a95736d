import { existsSync } from 'node:fs';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUNDLE, cleanEnv, startHttpApp } from './processes.js';
import { freePort, startTestPostgres, type TestPostgres } from './test-postgres.js';

let db: TestPostgres;

beforeAll(async () => {
  db = await startTestPostgres();
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  await client.query("CREATE TABLE notes (id serial PRIMARY KEY, body text NOT NULL); INSERT INTO notes (body) VALUES ('first'), ('second');");
  await client.end();
});
afterAll(async () => {
  await db?.destroy();
});

function textOf(result: unknown): string {
  return ((result as { content?: { text?: string }[] }).content ?? []).map((c) => c.text ?? '').join('\n');
}

describe.each([
  ['negotiated', undefined],
  ['2026-07-28', { versionNegotiation: { mode: { pin: '2026-07-28' as const } } }],
] as const)('trellis-postgres over stdio (%s)', (_label, options) => {
  it('serves the tools against DATABASE_URL', async () => {
    expect(existsSync(BUNDLE)).toBe(true);
    const client = new Client({ name: 'test', version: '0.0.0' }, options);
    await client.connect(new StdioClientTransport({ command: process.execPath, args: [BUNDLE], env: cleanEnv({ DATABASE_URL: db.url }), stderr: 'ignore' }));
    try {
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name).sort()).toEqual(['describe_table', 'list_tables', 'query']);
      const listed = await client.callTool({ name: 'list_tables', arguments: { schema: 'public' } });
      expect(textOf(listed)).toMatch(/public\s+\| notes/);
      const result = await client.callTool({ name: 'query', arguments: { sql: 'SELECT body FROM notes WHERE id = $1', params: [2] } });
      expect(result.structuredContent).toMatchObject({ rows: [{ body: 'second' }], truncated: false });
      const refused = await client.callTool({ name: 'query', arguments: { sql: 'DELETE FROM notes' } });
      expect(refused.isError).toBe(true);
      expect(textOf(refused)).toMatch(/read-only/);
    } finally {
      await client.close();
    }
  });
});

describe('trellis-postgres over HTTP', () => {
  it('serves /mcp, /healthz and /readyz', async () => {
    const app = await startHttpApp({ DATABASE_URL: db.url });
    try {
      expect((await fetch(`${app.base}/healthz`)).status).toBe(200);
      const ready = await fetch(`${app.base}/readyz`);
      expect(ready.status).toBe(200);
      const client = new Client({ name: 'test', version: '0.0.0' });
      await client.connect(new StreamableHTTPClientTransport(new URL(app.url)));
      try {
        const result = await client.callTool({ name: 'describe_table', arguments: { table: 'notes' } });
        expect(result.structuredContent).toMatchObject({ qualifiedName: '"public"."notes"', primaryKey: ['id'] });
        const read = await client.readResource({ uri: 'postgres://schema/public/notes' });
        expect((read.contents[0] as { text: string }).text).toContain('"body"');
      } finally {
        await client.close();
      }
    } finally {
      expect(await app.stop()).toBe(0);
    }
  });

  it('starts with the database unreachable: /readyz says not ready, without the password', async () => {
    const password = 'app-s3cret-pw';
    // Debug logging on: not even the most talkative log may carry the password.
    const app = await startHttpApp({ DATABASE_URL: `postgres://app:${password}@127.0.0.1:${await freePort()}/app`, POSTGRES_CONNECT_TIMEOUT: '2s', LOG_LEVEL: 'debug' });
    try {
      expect((await fetch(`${app.base}/healthz`)).status).toBe(200);
      const ready = await fetch(`${app.base}/readyz`);
      expect(ready.status).toBe(503);
      const body = await ready.text();
      expect(body).toMatch(/unavailable/);
      expect(body).not.toContain(password);
      const client = new Client({ name: 'test', version: '0.0.0' }, { versionNegotiation: { mode: { pin: '2026-07-28' } } });
      await client.connect(new StreamableHTTPClientTransport(new URL(app.url)));
      try {
        const result = await client.callTool({ name: 'list_tables', arguments: {} });
        expect(result.isError).toBe(true);
        expect(textOf(result)).toMatch(/database is unavailable/);
        expect(JSON.stringify(result)).not.toContain(password);
      } finally {
        await client.close();
      }
      expect(app.output()).not.toContain(password);
    } finally {
      await app.stop();
    }
  });
});
