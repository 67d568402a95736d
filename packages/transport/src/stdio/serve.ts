import type { Readable, Writable } from 'node:stream';
import type { Server } from '@modelcontextprotocol/server';
import { serveStdio as serveSdkStdio } from '@modelcontextprotocol/server/stdio';
import { AbortReasons, Connection, type ServerChange, type TransportKind, type TrellisServer } from '@trellis/server';
import { FastToolCalls } from './direct-calls.js';
import { ListenStreams } from './listens.js';
import { LineTransport, StdioMessageError } from './line-transport.js';
import { guardStdout, type StdoutGuard } from './stdout-guard.js';

export interface StdioOptions {
  /** Default `process.stdin`. */
  input?: Readable;
  /** Default `process.stdout`. */
  output?: Writable;
  /** Where stray stdout writes go. Default `process.stderr`. */
  stderr?: Writable;
  /** Largest inbound message in bytes. Default 4 MiB. */
  maxMessageBytes?: number;
  /**
   * The guard keeping `output` for the protocol: an installed guard to share,
   * or false for none. Default: one is installed, and removed when the connection ends.
   */
  stdoutGuard?: StdoutGuard | false;
  /**
   * Called when the client closes our input. Default: the connection closes at
   * once (in-flight requests are aborted). The command line passes a graceful
   * shutdown instead.
   */
  onInputEnd?: () => void;
  /**
   * Serve plain tool calls on the fast path (see `direct/eligibility.ts`).
   * Default true; false sends every message through the SDK's dispatch (same
   * answers, slower), which the behaviour suite uses to prove the two agree.
   */
  fastPath?: boolean;
  /** How handlers and observers see the transport. Default `stdio`. */
  transportKind?: TransportKind;
}

/** A running stdio connection. */
export interface StdioHandle {
  /** Resolves when the connection has ended (input closed, or `close()`). */
  readonly closed: Promise<void>;
  /** The era the client opened with, once it has sent its first message. */
  readonly era: 'modern' | 'legacy' | undefined;
  /** Answers new requests with a "shutting down" error; in-flight ones continue. */
  drain(): void;
  /** Ends the connection: closes the protocol instance and the transport. */
  close(): Promise<void>;
}

/**
 * Serves a started Trellis server over stdio, either protocol era: the client's
 * first message pins the era (the SDK's `serveStdio` decides), with Trellis's
 * own line framing (parse errors answered, oversized messages refused) and a
 * guard that keeps stdout for protocol messages only.
 * @example
 * await server.start();
 * const stdio = serveStdio(server);
 * await stdio.closed;
 */
export function serveStdio(server: TrellisServer, options: StdioOptions = {}): StdioHandle {
  const output = options.output ?? process.stdout;
  const ownGuard = options.stdoutGuard === undefined;
  const guard =
    options.stdoutGuard === false
      ? undefined
      : (options.stdoutGuard ??
        guardStdout({
          stdout: output,
          ...(options.stderr && { divert: options.stderr }),
          onStray: () =>
            server.logger.warn('something wrote to stdout; diverted to stderr to keep the protocol stream clean'),
        }));
  const wire = new LineTransport({
    input: options.input ?? process.stdin,
    output,
    ...(guard && { write: guard.write }),
    ...(options.maxMessageBytes !== undefined && { maxMessageBytes: options.maxMessageBytes }),
    onInputEnd:
      options.onInputEnd ??
      (() => {
        connection.close(new Error(AbortReasons.inputClosed));
        void sdkHandle.close();
      }),
  });

  // One in-flight record for the connection, whichever path serves a call.
  const connection = new Connection({ transport: options.transportKind ?? 'stdio' });
  const fastCalls = new FastToolCalls(server, wire, connection, options.fastPath ?? true).intercept;
  // Listen streams are served by the SDK's stdio entry before any handler: observed here, where they pass.
  const listens = new ListenStreams(server, connection.transport);
  wire.intercept = (message) => {
    listens.inbound(message);
    return fastCalls(message);
  };
  wire.outbound = (message) => listens.outbound(message);

  let era: 'modern' | 'legacy' | undefined;
  let modern: Server | undefined;
  const stopForwarding = server.onChange((change) => {
    // Older-protocol instances hear changes through their own handlers; the
    // 2026-07-28 instance's notifications are routed by the SDK to `subscriptions/listen` streams.
    if (modern) notify(modern, change)?.catch(() => undefined);
  });

  const sdkHandle = serveSdkStdio(
    (ctx) => {
      const protocol = server.createProtocolServer({ era: ctx.era, connection });
      era = ctx.era;
      if (ctx.era === 'modern') {
        modern = protocol;
        const previous = protocol.onclose;
        protocol.onclose = () => {
          if (modern === protocol) modern = undefined;
          previous?.();
        };
      }
      return protocol;
    },
    {
      transport: wire,
      onerror: (error) => {
        if (error instanceof StdioMessageError)
          server.logger.warn({ reason: error.reason, id: error.id }, error.message);
        else server.logger.debug({ err: error }, 'stdio connection error');
      },
    },
  );

  const closed = wire.closed.then(() => {
    connection.close(new Error(AbortReasons.inputClosed));
    listens.closeAll();
    stopForwarding();
    if (ownGuard) guard?.restore();
  });

  return {
    closed,
    get era() {
      return era;
    },
    drain: () => wire.refuseRequests(),
    async close() {
      connection.close(new Error(AbortReasons.connectionClosed));
      await sdkHandle.close();
      await wire.close();
      await closed;
    },
  };
}

function notify(protocol: Server, change: ServerChange): Promise<void> | undefined {
  switch (change.kind) {
    case 'tools':
      return protocol.sendToolListChanged();
    case 'prompts':
      return protocol.sendPromptListChanged();
    case 'resources':
      return protocol.sendResourceListChanged();
    case 'resource-updated':
      return protocol.sendResourceUpdated({ uri: change.uri });
  }
}
