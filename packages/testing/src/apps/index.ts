// @trellis/testing/apps: Node-only helpers for tests that drive a built app bundle
// (dist/main.js) as a process, with the official clients of both SDK lines and the
// MCP Inspector. Kept off the root entry, which stays free of child processes.
export { CLIENT_KINDS, connectBundle } from './clients.ts';
export type { AppClient, BundleConnection, ClientKind, ConnectBundleOptions, ContentBlock, ResourceContents, ToolCallResult } from './clients.ts';
export { copyDistAlone } from './dist.ts';
export type { DistCopy } from './dist.ts';
export { inspectorCli, prepareInspector } from './inspector.ts';
export type { InspectorOptions, InspectorRun, InspectorTools } from './inspector.ts';
export { AppProcessError, bundleEnv, freePort, runBundle, startHttpBundle } from './process.ts';
export type { BundleRun, HttpBundle, StartHttpBundleOptions } from './process.ts';
