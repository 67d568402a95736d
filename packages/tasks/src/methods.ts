import {
  CLIENT_CAPABILITIES_META_KEY,
  MissingRequiredClientCapabilityError,
  ProtocolError,
  type Server,
  type ServerContext,
} from '@modelcontextprotocol/server';
import { z } from 'zod';
import { TASKS_EXTENSION_ID, TaskWireCodes } from './codes.js';
import { detailedView, type TaskRuntime } from './runtime.js';

/** Whether a request's 2026-07-28 envelope declares the tasks extension. */
export function declaresTasks(envelope: Record<string, unknown> | undefined): boolean {
  const capabilities = envelope?.[CLIENT_CAPABILITIES_META_KEY] as { extensions?: Record<string, unknown> } | undefined;
  const extensions = capabilities?.extensions;
  return (
    typeof extensions === 'object' &&
    extensions !== null &&
    extensions[TASKS_EXTENSION_ID] !== undefined &&
    extensions[TASKS_EXTENSION_ID] !== null
  );
}

/** The -32021 answer naming the extension the request must declare. */
export function missingTasksCapability(what: string): MissingRequiredClientCapabilityError {
  return new MissingRequiredClientCapabilityError(
    { requiredCapabilities: { extensions: { [TASKS_EXTENSION_ID]: {} } } } as never,
    `${what} needs the ${TASKS_EXTENSION_ID} extension: declare it in the request's client capabilities`,
  );
}

/** Unknown, expired, or another principal's: the same answer, so that an id's existence is never disclosed. */
function unknownTask(taskId: string): ProtocolError {
  return new ProtocolError(TaskWireCodes.InvalidParams, `Unknown task: ${taskId}`, { taskId });
}

const TaskIdParams = z.object({ taskId: z.string().min(1).max(256) }).passthrough();
// The SDK lifts `inputResponses` out of the params (into `ctx.mcpReq.inputResponses`), as for any request.
const UpdateParams = z
  .object({ taskId: z.string().min(1).max(256), inputResponses: z.record(z.string(), z.unknown()).optional() })
  .passthrough();

/** Who is asking, as the runtime compares owners. */
export type OwnerOf = (ctx: ServerContext) => string | null;

/**
 * Serves `tasks/get`, `tasks/update` and `tasks/cancel` on one SDK protocol
 * object, and declares the extension in its capabilities. `tasks/list` and
 * `tasks/result` (removed by the extension) are left unregistered, so the
 * SDK answers -32601; the `Mcp-Name` header check (-32020) is the SDK's too.
 */
export function installTaskMethods(protocol: Server, runtime: TaskRuntime, ownerOf: OwnerOf): void {
  protocol.registerCapabilities({ extensions: { [TASKS_EXTENSION_ID]: {} } } as never);
  const gate = (ctx: ServerContext, method: string) => {
    if (!declaresTasks(ctx.mcpReq.envelope as Record<string, unknown> | undefined))
      throw missingTasksCapability(method);
  };

  protocol.setRequestHandler('tasks/get', { params: TaskIdParams }, async (params, ctx) => {
    gate(ctx, 'tasks/get');
    const task = await runtime.get(params.taskId, ownerOf(ctx));
    if (!task) throw unknownTask(params.taskId);
    return detailedView(task) as never;
  });

  protocol.setRequestHandler('tasks/update', { params: UpdateParams }, async (params, ctx) => {
    gate(ctx, 'tasks/update');
    const responses = ctx.mcpReq.inputResponses ?? params.inputResponses;
    if (!responses || typeof responses !== 'object' || Array.isArray(responses)) {
      throw new ProtocolError(
        TaskWireCodes.InvalidParams,
        "tasks/update needs inputResponses: an object of answers keyed like the task's inputRequests",
      );
    }
    if (!(await runtime.update(params.taskId, ownerOf(ctx), responses as Record<string, unknown>)))
      throw unknownTask(params.taskId);
    return {} as never;
  });

  protocol.setRequestHandler('tasks/cancel', { params: TaskIdParams }, async (params, ctx) => {
    gate(ctx, 'tasks/cancel');
    if (!(await runtime.cancel(params.taskId, ownerOf(ctx)))) throw unknownTask(params.taskId);
    return {} as never;
  });
}
