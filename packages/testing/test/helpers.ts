import { Writable } from 'node:stream';
import { createServer, type AnyPlugin, type CreateServerOptions, type TrellisServer } from '@trellis/server';
import pino from 'pino';
export { textOf, withClient } from '../src/index.js';

export const ERAS = ['legacy', 'modern'] as const;

/** Log records the server wrote, for assertions on what reaches the log. */
export class LogCapture {
  readonly records: Record<string, unknown>[] = [];
  readonly stream = new Writable({
    write: (chunk: Buffer, _encoding, done) => {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) this.records.push(JSON.parse(line));
      done();
    },
  });
  readonly logger = pino({ level: 'debug' }, this.stream);
  text(): string {
    return this.records.map((r) => JSON.stringify(r)).join('\n');
  }
}

export async function startServer(
  plugins: AnyPlugin[],
  options: Partial<CreateServerOptions> = {},
): Promise<{ server: TrellisServer; logs: LogCapture }> {
  const logs = new LogCapture();
  const server = createServer({
    name: 'test-server',
    version: '1.0.0',
    plugins,
    logger: logs.logger,
    configSources: { argv: [], env: {}, envFiles: [] },
    ...options,
  });
  await server.start();
  return { server, logs };
}
