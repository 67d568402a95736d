#!/usr/bin/env node
// What one traced request costs in the OpenTelemetry JS SDK alone (no Trellis code), in-process: a SERVER span
// started, given the attributes Trellis sets on a `tools/call` span, and ended, through the BatchSpanProcessor
// and the OTLP exporter Trellis configures (issue 17's floor). CPU per span from process.cpuUsage() (every
// thread: GC helpers and the compiler included), configurations interleaved per round, medians.
//   node runner/span-cost.mjs [--spans 100000] [--rounds 5] [--garbage 0,8,32]
// --garbage: KiB of short-lived objects allocated per request beside the span, like a transport's own
// per-request garbage (a stdio call leaves a few KiB, an HTTP request more): a span lives until its batch is
// exported, so every scavenge the transport's garbage triggers copies the buffered spans, and a span's cost
// grows with the garbage made around it.
import { fork } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const argv = process.argv.slice(2);
const option = (name, fallback) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : fallback);

if (process.env.SPAN_COST_RECEIVER) {
  // The receiver runs in a child process so that its CPU is not counted.
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end());
  });
  server.listen(0, '127.0.0.1', () => process.send(server.address().port));
} else {
  await main();
}

async function main() {
  const spans = Number(option('--spans', 100_000));
  const rounds = Number(option('--rounds', 5));
  const garbageKiB = option('--garbage', '0,8,32').split(',').map(Number);

  // The OpenTelemetry packages as @trellis/telemetry depends on them (the same versions the bench app bundles).
  const telemetryDir = join(import.meta.dirname, '..', '..', 'packages', 'telemetry');
  const fromTelemetry = createRequire(join(telemetryDir, 'package.json'));
  const api = fromTelemetry('@opentelemetry/api');
  const { BasicTracerProvider, BatchSpanProcessor } = fromTelemetry('@opentelemetry/sdk-trace-base');
  const { OTLPTraceExporter } = fromTelemetry('@opentelemetry/exporter-trace-otlp-proto');
  const exporterDir = realpathSync(join(telemetryDir, 'node_modules', '@opentelemetry', 'exporter-trace-otlp-proto'));
  const { ProtobufTraceSerializer } = createRequire(join(exporterDir, 'package.json'))(
    '@opentelemetry/otlp-transformer',
  );

  const receiver = fork(import.meta.filename, [], { env: { ...process.env, SPAN_COST_RECEIVER: '1' } });
  const port = await new Promise((resolve) => receiver.once('message', resolve));

  /** An exporter that encodes each batch as the OTLP/protobuf exporter does, and sends nothing. */
  const encodeOnly = {
    export(batch, done) {
      ProtobufTraceSerializer.serializeRequest(batch);
      done({ code: 0 });
    },
    shutdown: async () => undefined,
    forceFlush: async () => undefined,
  };
  const discard = {
    export: (_batch, done) => done({ code: 0 }),
    shutdown: async () => undefined,
    forceFlush: async () => undefined,
  };
  const providers = {
    'span only': new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(discard)] }),
    '+ protobuf encoding': new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(encodeOnly)] }),
    '+ OTLP/HTTP send': new BasicTracerProvider({
      spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: `http://127.0.0.1:${port}/v1/traces` }))],
    }),
  };
  const tracers = Object.fromEntries(Object.entries(providers).map(([k, p]) => [k, p.getTracer('span-cost')]));
  const options = Object.freeze({ kind: api.SpanKind.SERVER });

  /** Short-lived objects, about `kib` KiB per request (what a transport allocates around a call). */
  let sink;
  const makeGarbage = (kib) => {
    const n = kib * 16; // ≈ 64 bytes per small object
    for (let i = 0; i < n; i++) sink = { a: i, b: sink === undefined ? 0 : 1, c: 'x', d: null };
  };

  const once = (tracer, kib, i) => {
    if (kib) makeGarbage(kib);
    if (!tracer) return;
    const span = tracer.startSpan('tools/call echo', options, api.ROOT_CONTEXT);
    span.setAttribute('mcp.method.name', 'tools/call');
    span.setAttribute('network.transport', 'pipe');
    span.setAttribute('jsonrpc.request.id', String(i));
    span.setAttribute('gen_ai.tool.name', 'echo');
    span.setAttribute('gen_ai.operation.name', 'execute_tool');
    span.setAttribute('mcp.protocol.version', '2025-11-25');
    span.end();
  };

  /** CPU µs per request for `spans` requests, yielding to the event loop (the exporter's timers and sockets) every 256. */
  const run = async (tracer, kib) => {
    const t0 = process.cpuUsage();
    for (let i = 0; i < spans; i++) {
      once(tracer, kib, i);
      if ((i & 255) === 255) await new Promise(setImmediate);
    }
    const t = process.cpuUsage(t0);
    return (t.user + t.system) / spans;
  };

  const configs = [{ name: 'no span' }, ...Object.keys(tracers).map((name) => ({ name }))];
  const samples = new Map();
  for (let round = -1; round < rounds; round++) {
    for (const kib of garbageKiB) {
      const order = round % 2 === 0 ? configs : [...configs].reverse();
      for (const c of order) {
        const us = await run(tracers[c.name], kib);
        if (round < 0) continue;
        const key = `${kib}\u0000${c.name}`;
        if (!samples.has(key)) samples.set(key, []);
        samples.get(key).push(us);
      }
    }
  }
  for (const p of Object.values(providers)) await p.shutdown();
  receiver.kill();

  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  process.stdout.write(
    `CPU µs per request, ${spans} requests × ${rounds} rounds (medians), Node ${process.version}\n\n` +
      `| garbage per request | no span | span only | + protobuf encoding | + OTLP/HTTP send | span cost (send − no span) |\n|---|---|---|---|---|---|\n`,
  );
  for (const kib of garbageKiB) {
    const m = (name) => median(samples.get(`${kib}\u0000${name}`));
    const cells = configs.map((c) => m(c.name).toFixed(2));
    process.stdout.write(
      `| ${kib} KiB | ${cells.join(' | ')} | ${(m('+ OTLP/HTTP send') - m('no span')).toFixed(2)} |\n`,
    );
  }
}
