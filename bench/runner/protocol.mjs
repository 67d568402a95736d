// What a client puts on the wire for each protocol era (raw JSON-RPC; no SDK client in the measured path).

export const LEGACY_VERSION = '2025-11-25';
export const MODERN_VERSION = '2026-07-28';

/** The per-request envelope a 2026-07-28 client sends in `_meta`. */
export const ENVELOPE = Object.freeze({
  'io.modelcontextprotocol/protocolVersion': MODERN_VERSION,
  'io.modelcontextprotocol/clientCapabilities': {},
  'io.modelcontextprotocol/clientInfo': { name: 'trellis-bench', version: '0.0.0' },
});

export function initializeParams() {
  return { protocolVersion: LEGACY_VERSION, capabilities: {}, clientInfo: { name: 'trellis-bench', version: '0.0.0' } };
}

/** Params of a request, with the envelope for the 2026-07-28 era. */
export function params(era, p = {}) {
  return era === 'modern' ? { ...p, _meta: ENVELOPE } : p;
}

export const echoParams = (era, text) => params(era, { name: 'echo', arguments: { text } });
export const sleepParams = (era, ms) => params(era, { name: 'sleep', arguments: { ms } });

/** Throws unless a JSON-RPC answer is a successful tool result (optionally with this text). */
export function checkToolResult(message, expected) {
  if (!message || message.error)
    throw new Error(`tool call failed: ${JSON.stringify(message?.error ?? message).slice(0, 300)}`);
  const result = message.result;
  if (!result || result.isError) throw new Error(`tool returned an error: ${JSON.stringify(result).slice(0, 300)}`);
  if (expected !== undefined && result.content?.[0]?.text !== expected)
    throw new Error(`unexpected tool output: ${JSON.stringify(result).slice(0, 300)}`);
  return result;
}

export function checkToolsList(message) {
  const names = message?.result?.tools?.map((t) => t.name) ?? [];
  if (!names.includes('echo') || !names.includes('sleep'))
    throw new Error(`tools/list failed: ${JSON.stringify(message).slice(0, 300)}`);
}

/** Percentile of a sorted-in-place copy. */
export function percentile(values, p) {
  if (values.length === 0) return NaN;
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}
