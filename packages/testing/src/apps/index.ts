// @trellis/testing/apps: Node-only helpers for tests that drive a built app bundle
// (dist/main.js) as a process, with the official clients of both SDK lines and the
// MCP Inspector. Kept off the root entry, which stays free of child processes.
export { CLIENT_KINDS, connectBundle } from './clients.js';
export type {
  AppClient,
  BundleConnection,
  ClientKind,
  ConnectBundleOptions,
  ContentBlock,
  ResourceContents,
  ToolCallResult,
} from './clients.js';
export { copyDistAlone } from './dist.js';
export type { DistCopy } from './dist.js';
export { inspectorCli, prepareInspector } from './inspector.js';
export type { InspectorOptions, InspectorRun, InspectorTools } from './inspector.js';
export { AppProcessError, bundleEnv, freePort, runBundle, startHttpBundle } from './process.js';
export type { BundleRun, HttpBundle, StartHttpBundleOptions } from './process.js';
