import { createServer as createNodeServer, type Server as NodeServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { createTaskSessionFromClient, type TaskEnabledSession } from '@modelcontextprotocol/ext-tasks/client';
import type { JsonValue, TaskId } from '@modelcontextprotocol/ext-tasks/core';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1Transport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { sleep } from '@trellis/concurrency';
import { acceptedContent, createServer, definePlugin, inputRequired } from '@trellis/server';
import { MemoryTaskStore, type TaskStore } from '@trellis/tasks';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createHttpTransport, type HttpTransport, type HttpTransportOptions } from '../src/http/index.js';
import { eventually } from './fixtures/http-harness.js';
import { httpDispatch, taskRequester } from './fixtures/tasks-client.js';

/**
 * The Tasks extension end to end: a Trellis server over HTTP, driven by the
 * official requester of `@modelcontextprotocol/ext-tasks` on an SDK v2 client
 * at 2026-07-28 (and an older-protocol v1 client for the plain-call path).
 */

const TASKS = 'io.modelcontextprotocol/tasks';

/** What the task tools saw, for the assertions. */
interface Probe {
  aborts: string[];
  childAborts: number;
  started: number;
}

const NAME = { type: 'object' as const, properties: { name: { type: 'string' as const } }, required: ['name'] };

function taskTools(probe: Probe) {
  return definePlugin({
    name: 'task-tools',
    setup(scope) {
      scope.tools.add({
        name: 'work',
        description:
          'Works for `ms` milliseconds in 50 ms steps, reporting progress; a child in ctx.group waits with it',
        input: z.object({ ms: z.number().int().min(0) }),
        taskSupport: 'optional',
        task: { pollIntervalMs: 50 },
        handler: async ({ ms }, ctx) => {
          probe.started += 1;
          let finished!: () => void;
          const done = new Promise<void>((resolve) => (finished = resolve));
          // A child that runs as long as the handler: it ends with it, or is cancelled with the task.
          ctx.group.spawn(async (signal) => {
            await Promise.race([done, sleep(ms + 60_000, { signal })]).catch(() => (probe.childAborts += 1));
          });
          try {
            for (let done = 0; done < ms; done += 50) {
              await ctx.progress(done, ms, `worked ${done} of ${ms} ms`);
              await sleep(50, { signal: ctx.signal });
            }
          } catch (error) {
            probe.aborts.push(
              ctx.signal.reason instanceof Error ? ctx.signal.reason.message : String(ctx.signal.reason),
            );
            throw error;
          }
          finished();
          return `worked ${ms} ms`;
        },
      });
      scope.tools.add({
        name: 'ask_twice',
        interactive: true,
        description: 'Asks two questions at once, as a task',
        taskSupport: 'optional',
        task: { detachAfterMs: 0, pollIntervalMs: 50 },
        handler: (_args, ctx) => {
          const a = acceptedContent(ctx.inputResponses, 'a');
          const b = acceptedContent(ctx.inputResponses, 'b');
          if (a && b) return `a=${String(a.name)} b=${String(b.name)}`;
          return inputRequired({
            inputRequests: {
              a: inputRequired.elicit({ message: 'a?', requestedSchema: NAME }),
              b: inputRequired.elicit({ message: 'b?', requestedSchema: NAME }),
            },
          });
        },
      });
      scope.tools.add({
        name: 'short_lived',
        description: 'Waits for its signal; its task lives 300 ms',
        taskSupport: 'optional',
        task: { detachAfterMs: 0, ttlMs: 300 },
        handler: async (_args, ctx) => {
          await sleep(60_000, { signal: ctx.signal }).catch(() =>
            probe.aborts.push(String((ctx.signal.reason as Error).message)),
          );
          return 'never';
        },
      });
      scope.tools.add({
        name: 'broken',
        description: 'Fails with a bug (an exception that is not a ToolError)',
        taskSupport: 'optional',
        task: { detachAfterMs: 0 },
        handler: async () => {
          await sleep(20);
          throw new TypeError('a bug');
        },
      });
      scope.tools.add({
        name: 'only_task',
        description: 'Runs only as a task',
        taskSupport: 'required',
        handler: () => 'ok',
      });
    },
  });
}

interface App {
  http: HttpTransport;
  url: string;
  probe: Probe;
}

const apps: HttpTransport[] = [];
const closers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close().catch(() => undefined);
  for (const http of apps.splice(0)) await http.close({ graceMs: 0 }).catch(() => undefined);
});

async function startApp(
  options: { store?: TaskStore; maxLiveTasks?: number; maxConcurrentCalls?: number; http?: HttpTransportOptions } = {},
): Promise<App> {
  const probe: Probe = { aborts: [], childAborts: 0, started: 0 };
  const server = createServer({
    name: 'tasks-test',
    version: '1.0.0',
    plugins: [taskTools(probe)],
    configSources: { argv: [], env: { LOG_LEVEL: 'silent' }, envFiles: [] },
    tasks: {
      ...(options.store && { store: options.store }),
      ...(options.maxLiveTasks && { maxLiveTasks: options.maxLiveTasks }),
    },
    ...(options.maxConcurrentCalls && {
      limits: { maxConcurrentCalls: options.maxConcurrentCalls, queueTimeoutMs: 100 },
    }),
  });
  await server.start();
  const http = createHttpTransport(server, { port: 0, host: '127.0.0.1', ...options.http });
  await http.listen();
  apps.push(http);
  return { http, url: http.url, probe };
}

/** An SDK v2 client at 2026-07-28 declaring the extension, and the official requester on it (closed after the test). */
async function requester(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ client: Client; session: TaskEnabledSession }> {
  const { client, session, close } = await taskRequester(url, headers);
  closers.push(close);
  return { client, session };
}

async function startTask(
  session: TaskEnabledSession,
  name: string,
  args: Readonly<Record<string, JsonValue>> = {},
): Promise<TaskId> {
  const execution = await session.callTool(name, args);
  if (execution.kind !== 'task') throw new Error(`${name} answered inline`);
  // Release the requester's own driving: the test polls and answers through the task controller.
  await execution.handoff(() => undefined);
  return execution.handle.taskId;
}

const textOf = (result: unknown) => (result as { content: { text: string }[] }).content[0]!.text;

describe('tasks through the official requester (ext-tasks) at 2026-07-28', () => {
  it('advertises the extension; a long call becomes a task whose progress is its status, and completes after the client reconnects', async () => {
    const { url, probe } = await startApp();
    const first = await requester(url);
    expect(first.client.getServerCapabilities()?.extensions?.[TASKS]).toEqual({});
    const execution = await first.session.callTool('work', { ms: 1_500 });
    if (execution.kind !== 'task') throw new Error('work answered inline');
    let reference: ReturnType<typeof execution.serializeReference> | undefined;
    // The client hands the task off and goes away; the task does not.
    await execution.handoff((persisted) => void (reference = persisted));
    const taskId = reference!.taskId;
    await eventually(async () =>
      /worked \d+ of 1500 ms/.test((await first.session.task(taskId).snapshot()).statusMessage ?? ''),
    );
    await first.session.close();
    await first.client.close();

    const second = await requester(url);
    const resumed = await second.session.resumeTask(reference!);
    const { outcome } = await resumed.settle();
    expect(outcome.status).toBe('completed');
    expect(textOf(outcome.status === 'completed' ? outcome.result : undefined)).toBe('worked 1500 ms');
    expect(probe.aborts).toEqual([]);
  });

  it('answers a quick call inline, with no task', async () => {
    const { url } = await startApp();
    const { session } = await requester(url);
    const execution = await session.callTool('work', { ms: 0 });
    expect(execution.kind).toBe('immediate');
    expect(
      textOf(
        (await execution.settle()).outcome.status === 'completed'
          ? ((await execution.result()) as { result: unknown }).result
          : undefined,
      ),
    ).toBe('worked 0 ms');
  });

  it('cancels a running task: its handler and the children in ctx.group see the abort; a second cancel is a no-op', async () => {
    const { url, probe } = await startApp();
    const { session } = await requester(url);
    const id = await startTask(session, 'work', { ms: 30_000 });
    await session.task(id).cancel();
    await session.task(id).cancel();
    await eventually(() => probe.aborts.length === 1 && probe.childAborts === 1);
    expect(probe.aborts[0]).toBe('cancelled by the client');
    const view = await session.task(id).snapshot();
    expect(view).toMatchObject({ status: 'cancelled', statusMessage: 'cancelled by the client' });
  });

  it('takes input in two partial rounds; cancelling while it waits for input ends it; cancelling after completion changes nothing', async () => {
    const { url } = await startApp();
    const { session } = await requester(url);
    const id = await startTask(session, 'ask_twice');
    const task = session.task(id);
    await eventually(async () => (await task.snapshot()).status === 'input_required');
    expect(Object.keys((await task.snapshot()).raw.inputRequests as object).sort()).toEqual(['a', 'b']);
    await task.update({ a: { action: 'accept', content: { name: 'first' } } });
    const between = await task.snapshot();
    expect(between.status).toBe('input_required');
    expect(Object.keys(between.raw.inputRequests as object)).toEqual(['b']);
    await task.update({ b: { action: 'accept', content: { name: 'second' } } });
    const outcome = await task.result();
    expect(outcome.status).toBe('completed');
    expect(textOf(outcome.status === 'completed' ? outcome.result : undefined)).toBe('a=first b=second');
    await task.cancel();
    expect((await task.snapshot()).status).toBe('completed');

    const waiting = session.task(await startTask(session, 'ask_twice'));
    await eventually(async () => (await waiting.snapshot()).status === 'input_required');
    await waiting.cancel();
    expect(await waiting.snapshot()).toMatchObject({ status: 'cancelled' });
    expect((await waiting.snapshot()).raw.inputRequests).toBeUndefined();
  });

  it('reports a handler that fails like an inline call would: completed, with an isError result', async () => {
    const { url } = await startApp();
    const { session } = await requester(url);
    const outcome = await session.task(await startTask(session, 'broken')).result();
    expect(outcome.status).toBe('completed');
    const result = (outcome.status === 'completed' ? outcome.result : undefined) as {
      isError?: boolean;
      content: { text: string }[];
    };
    expect(result.isError).toBe(true);
    expect(result.content[0]!.text).toMatch(/internal error/);
  });

  it('forgets a task when its TTL passes, aborting its handler', async () => {
    const { url, probe } = await startApp();
    const { session } = await requester(url);
    const id = await startTask(session, 'short_lived');
    expect((await session.task(id).snapshot()).retentionMs).toBe(300);
    await eventually(() => probe.aborts.length === 1);
    expect(probe.aborts[0]).toMatch(/TTL/);
    await eventually(async () => {
      const error = await session
        .task(id)
        .snapshot()
        .then(
          () => undefined,
          (e: unknown) => e as { code?: number },
        );
      return error?.code === -32602;
    });
  });

  it('answers "busy" past the live-task cap before any task is created', async () => {
    const { url, probe } = await startApp({ maxLiveTasks: 2 });
    const { session } = await requester(url);
    const ids = [await startTask(session, 'work', { ms: 30_000 }), await startTask(session, 'work', { ms: 30_000 })];
    const refused = await session.callTool('work', { ms: 30_000 });
    expect(refused.kind).toBe('immediate');
    const outcome = await refused.result();
    const result =
      outcome.status === 'completed'
        ? (outcome.result as { isError?: boolean; content: { text: string }[] })
        : undefined;
    expect(result?.isError).toBe(true);
    expect(result?.content[0]?.text).toMatch(/too many live tasks \(2 of 2\)/);
    expect(probe.started).toBe(2);
    for (const id of ids) await session.task(id).cancel();
  });

  it('queues a task behind the server-wide call limit as working/"queued", past the call queue timeout', async () => {
    const { url, probe } = await startApp({ maxConcurrentCalls: 1 });
    const { session } = await requester(url);
    const first = await startTask(session, 'work', { ms: 30_000 });
    const second = await startTask(session, 'work', { ms: 100 });
    // The call queue times out after 100 ms; a task's wait is bounded by its TTL instead.
    await sleep(400);
    await eventually(
      async () =>
        (await session.task(second).snapshot()).statusMessage ===
        'queued: waiting for a free slot (1 running, 0 ahead)',
    );
    expect((await session.task(second).snapshot()).status).toBe('working');
    expect(probe.started).toBe(1);
    await session.task(first).cancel();
    expect((await session.task(second).result()).status).toBe('completed');
  });

  it('fails a task that asks for input the client did not declare, instead of waiting for it', async () => {
    const { url } = await startApp();
    const client = new Client(
      { name: 'no-elicitation', version: '1.0.0' },
      { capabilities: { extensions: { [TASKS]: {} } }, versionNegotiation: { mode: { pin: '2026-07-28' } } },
    );
    await client.connect(new StreamableHTTPClientTransport(new URL(url)));
    const session = createTaskSessionFromClient(client, {
      endpointId: url,
      rawDispatch: httpDispatch(url),
      v2RequestFraming: {
        protocolVersion: '2026-07-28',
        clientInfo: { name: 'no-elicitation', version: '1.0.0' },
        clientCapabilities: { extensions: { [TASKS]: {} } },
      },
    });
    closers.push(async () => {
      await session.close();
      await client.close();
    });
    const outcome = await session.task(await startTask(session, 'ask_twice')).result();
    expect(outcome.status).toBe('failed');
    expect(outcome.status === 'failed' && outcome.error).toMatchObject({
      code: -32021,
      data: { requiredCapabilities: { elicitation: {} } },
    });
  });

  it('cancels running tasks at shutdown with a reason another instance on the same store shows', async () => {
    const store = new MemoryTaskStore();
    const first = await startApp({ store });
    const { session } = await requester(first.url);
    const done = await startTask(session, 'work', { ms: 300 });
    const stuck = await startTask(session, 'work', { ms: 60_000 });
    // The grace period lets the short task finish; the long one is cancelled with the reason.
    await first.http.close({ graceMs: 2_000 });
    expect(first.probe.aborts).toEqual(['the server shut down before the task finished']);

    const second = await startApp({ store });
    const other = await requester(second.url);
    expect((await other.session.task(done).snapshot()).status).toBe('completed');
    expect(await other.session.task(stuck).snapshot()).toMatchObject({
      status: 'cancelled',
      statusMessage: 'the server shut down before the task finished',
    });
  });
});

describe('tasks for clients without the extension', () => {
  it('serves an optional tool as an ordinary call to an older-protocol client, and refuses a required one with -32021', async () => {
    const { url } = await startApp();
    const legacy = new V1Client({ name: 'v1', version: '1.0.0' });
    await legacy.connect(new V1Transport(new URL(url)));
    closers.push(() => legacy.close());
    expect(textOf(await legacy.callTool({ name: 'work', arguments: { ms: 400 } }))).toBe('worked 400 ms');
    expect(await legacy.callTool({ name: 'broken', arguments: {} })).toMatchObject({ isError: true });

    const modern = new Client(
      { name: 'plain', version: '1.0.0' },
      { versionNegotiation: { mode: { pin: '2026-07-28' } } },
    );
    await modern.connect(new StreamableHTTPClientTransport(new URL(url)));
    closers.push(() => modern.close());
    expect(textOf(await modern.callTool({ name: 'work', arguments: { ms: 400 } }))).toBe('worked 400 ms');
    await expect(modern.callTool({ name: 'only_task' })).rejects.toMatchObject({ code: -32021 });
    await expect(
      modern.request({ method: 'tasks/get', params: { taskId: 'x' } } as never, z.object({}).passthrough() as never),
    ).rejects.toMatchObject({ code: -32021 });
  });
});

describe('tasks with auth on', () => {
  let jwks: NodeServer;
  let issuer: string;
  let privateKey: CryptoKey;
  const audience = 'https://mcp.example.com/mcp';

  beforeAll(async () => {
    const pair = await generateKeyPair('RS256');
    privateKey = pair.privateKey;
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    jwks = createNodeServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
    issuer = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    jwks.closeAllConnections();
    await new Promise((resolve) => jwks.close(resolve));
  });

  const tokenFor = (client: string, subject: string) =>
    new SignJWT({ client_id: client })
      .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .setIssuer(issuer)
      .setAudience(audience)
      .setSubject(subject)
      .setExpirationTime('5m')
      .sign(privateKey);

  it('shows, updates and cancels a task only for the principal that created it; anyone else gets the unknown-task error', async () => {
    const { url } = await startApp({
      http: { jwt: { jwksUrl: `${issuer}/jwks.json`, issuer, audience }, publicUrl: audience },
    });
    const owner = await requester(url, { authorization: `Bearer ${await tokenFor('client-1', 'alice')}` });
    const intruder = await requester(url, { authorization: `Bearer ${await tokenFor('client-2', 'mallory')}` });
    const id = await startTask(owner.session, 'ask_twice');
    await eventually(async () => (await owner.session.task(id).snapshot()).status === 'input_required');

    const refused = async (attempt: Promise<unknown>) =>
      expect(
        await attempt.then(
          () => 'answered',
          (e: { code?: number; message?: string }) => `${e.code}: ${e.message}`,
        ),
      ).toBe(`-32602: Unknown task: ${id}`);
    await refused(intruder.session.task(id).snapshot());
    await refused(intruder.session.task(id).update({ a: { action: 'accept', content: { name: 'x' } } }));
    await refused(intruder.session.task(id).cancel());
    // Exactly what an id that never existed gets: nothing tells the two apart.
    const unknown = await intruder.session
      .task('no-such-task' as TaskId)
      .snapshot()
      .catch((e: { code?: number; message?: string }) => e);
    expect(unknown).toMatchObject({ code: -32602, message: 'Unknown task: no-such-task' });

    const view = await owner.session.task(id).snapshot();
    expect(view.status).toBe('input_required');
    expect(Object.keys(view.raw.inputRequests as object).sort()).toEqual(['a', 'b']);
  });
});
