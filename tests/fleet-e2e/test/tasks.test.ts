import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FleetKey, type Fleet } from '@trellis/fleet';
import {
  admin,
  buildFixtureApp,
  eventually,
  fleetRoleUrl,
  promptlyMs,
  rpc,
  spawnInstance,
  startInstance,
  startTask,
  startTestPostgres,
  taskOn,
  type Instance,
  type TestPostgres,
} from './helpers.js';

/**
 * Tasks across instances: a task runs on the instance that created it, and
 * `tasks/get`, `tasks/update` and `tasks/cancel` work on any other. Two
 * in-process instances and one real process (the fixture app run by the
 * shared command line, which joins the fleet because FLEET_DATABASE_URL is
 * set) share one PostgreSQL 15. Heartbeats every second keep the test short;
 * the rule is the same at the default 5 s.
 */

let db: TestPostgres;
let env: Record<string, string>;
let a: Instance;
let b: Instance;
let fixture: Promise<string>;
const children: ChildProcess[] = [];

beforeAll(async () => {
  fixture = buildFixtureApp();
  db = await startTestPostgres();
  env = { FLEET_DATABASE_URL: await fleetRoleUrl(db.url), FLEET_HEARTBEAT_INTERVAL: '1s' };
  [a, b] = await Promise.all([startInstance(env), startInstance(env)]);
});

afterAll(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await Promise.all([a?.http.close({ graceMs: 0 }), b?.http.close({ graceMs: 0 })]);
  await db?.destroy();
});

/** Makes an instance's last heartbeat look a minute old to the others' reapers. */
function ageHeartbeat(instanceId: string): Promise<unknown> {
  return admin(db.url, "UPDATE trellis_fleet.instances SET heartbeat_at = now() - interval '1 minute' WHERE id = $1", [
    instanceId,
  ]);
}

describe('tasks shared by the instances of a fleet', () => {
  it('a task running on A is seen and cancelled through B; its handler on A is aborted within a second', async () => {
    const taskId = await startTask(a.url, 'wait', { tag: 'cancel-me' });
    await eventually(
      async () => (await taskOn(b.url, taskId)).statusMessage === 'waiting (cancel-me)',
      'B to see the status A wrote',
    );
    expect(await taskOn(b.url, taskId)).toMatchObject({ taskId, status: 'working' });
    const cancelledAt = Date.now();
    expect(await rpc(b.url, 'tasks/cancel', { taskId })).toMatchObject({ result: {} });
    await eventually(
      () => a.probe.aborts.some((abort) => abort.task === 'cancel-me'),
      'the handler on A to abort',
      5_000,
    );
    const abort = a.probe.aborts.find((entry) => entry.task === 'cancel-me')!;
    expect(abort.at - cancelledAt).toBeLessThan(promptlyMs());
    expect(abort.reason).toBe('cancelled by the client');
    expect(await taskOn(a.url, taskId)).toMatchObject({
      status: 'cancelled',
      statusMessage: 'cancelled by the client',
    });
    expect(b.probe.aborts).toEqual([]);
  });

  it('input given through B resumes the handler where it runs, on A', async () => {
    const taskId = await startTask(a.url, 'ask');
    await eventually(async () => (await taskOn(b.url, taskId)).status === 'input_required', 'the task to ask');
    expect((await taskOn(b.url, taskId)).inputRequests).toMatchObject({ name: { method: 'elicitation/create' } });
    const answered = await rpc(b.url, 'tasks/update', {
      taskId,
      inputResponses: { name: { action: 'accept', content: { name: 'Ada' } } },
    });
    expect(answered).toMatchObject({ result: {} });
    await eventually(async () => (await taskOn(b.url, taskId)).status === 'completed', 'the task to complete', 5_000);
    expect((await taskOn(b.url, taskId)).result).toMatchObject({
      content: [{ type: 'text', text: `hello Ada from ${process.pid}` }],
    });
    expect([a.probe.resumed, b.probe.resumed]).toEqual([1, 0]);
  });

  it('an instance only slow, not gone, whose task was failed by a survivor hears it and aborts the handler', async () => {
    const taskId = await startTask(a.url, 'wait', { tag: 'slow' });
    await eventually(async () => (await taskOn(b.url, taskId)).statusMessage === 'waiting (slow)', 'B to see it');
    const fleetOfB = b.server.services.get(FleetKey.id)!.value as Fleet;
    const fleetOfA = a.server.services.get(FleetKey.id)!.value as Fleet;
    // A's heartbeat looks a minute old to B's reaper (A's own next beat may win the race: try again then).
    await eventually(async () => {
      await ageHeartbeat(fleetOfA.instanceId);
      await fleetOfB.beat();
      return (await taskOn(b.url, taskId)).status === 'failed';
    }, 'B to fail the task of the silent-looking A');
    await eventually(() => a.probe.aborts.some((abort) => abort.task === 'slow'), 'the handler on A to abort', 5_000);
    expect(a.probe.aborts.find((abort) => abort.task === 'slow')!.reason).toMatch(/missed 3 heartbeats/);
  });

  it('a rerunnable task taken over from a slow instance runs on; the slow one stops, and its late writes are fenced off', async () => {
    // Long enough that A is still counting when B takes over, however loaded the machine.
    const taskId = await startTask(a.url, 'recount', { ms: 6_000 });
    const fleetOfA = a.server.services.get(FleetKey.id)!.value as Fleet;
    const fleetOfB = b.server.services.get(FleetKey.id)!.value as Fleet;
    const runner = async () =>
      (
        await admin<{ instance_id: string }>(db.url, 'SELECT instance_id FROM trellis_fleet.tasks WHERE id = $1', [
          taskId,
        ])
      )[0]!.instance_id;
    expect(await runner()).toBe(fleetOfA.instanceId);
    await eventually(async () => {
      await ageHeartbeat(fleetOfA.instanceId);
      await fleetOfB.beat();
      return (await runner()) === fleetOfB.instanceId;
    }, 'B to take the task over');
    // A was told, and aborted its run: its "cancelled" write must not land on B's run.
    await eventually(async () => (await taskOn(a.url, taskId)).status === 'completed', 'B to finish the rerun', 30_000);
    expect((await taskOn(a.url, taskId)).result).toMatchObject({
      content: [{ type: 'text', text: expect.stringMatching(/^finished in /) }],
    });
  }, 60_000);

  it('an unknown task id is unknown on every instance', async () => {
    const answer = await rpc(b.url, 'tasks/get', { taskId: 'no-such-task' });
    expect(answer.error).toMatchObject({ code: -32602 });
  });

  it('the task of an instance killed with SIGKILL ends failed, with a reason, on a survivor within 20 s', async () => {
    const doomed = await spawnInstance(await fixture, env);
    children.push(doomed.child);
    const taskId = await startTask(doomed.url, 'wait', { tag: 'orphan' });
    await eventually(async () => (await taskOn(a.url, taskId)).statusMessage === 'waiting (orphan)', 'A to see it');
    const killedAt = Date.now();
    doomed.child.kill('SIGKILL');
    await eventually(async () => (await taskOn(a.url, taskId)).status === 'failed', 'the orphan to be failed', 20_000);
    expect(Date.now() - killedAt).toBeLessThan(20_000);
    const seen = await taskOn(b.url, taskId);
    expect(seen).toMatchObject({ status: 'failed', error: { code: -32603 } });
    expect((seen.error as { message: string }).message).toMatch(
      /the server instance running this task stopped \(it missed 3 heartbeats/,
    );
    expect(seen.statusMessage).toBe((seen.error as { message: string }).message);
  }, 40_000);

  it('the task of a tool declared rerunnable is started again on a survivor when its instance is killed', async () => {
    const doomed = await spawnInstance(await fixture, env);
    children.push(doomed.child);
    const taskId = await startTask(doomed.url, 'recount', { ms: 1_500 });
    expect(await taskOn(a.url, taskId)).toMatchObject({ status: 'working' });
    doomed.child.kill('SIGKILL');
    await eventually(async () => (await taskOn(b.url, taskId)).status === 'completed', 'the rerun to complete', 20_000);
    const done = await taskOn(a.url, taskId);
    // Finished by a survivor (this test's process runs both), not by the killed child.
    expect(done.result).toMatchObject({ content: [{ type: 'text', text: `finished in ${process.pid}` }] });
    expect(doomed.child.pid).not.toBe(process.pid);
  }, 40_000);
});
