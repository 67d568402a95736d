import { copyFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { appBuild } from '../../tsup.shared.ts';

// PostgreSQL's parser (libpg-query) is WebAssembly: the bundle loads libpg-query.wasm from its own folder.
const fromPlugin = createRequire(join(import.meta.dirname, '..', '..', 'packages', 'postgres', 'package.json'));

export default appBuild({
  onSuccess: async () =>
    copyFileSync(
      fromPlugin.resolve('libpg-query/wasm/libpg-query.wasm'),
      join(import.meta.dirname, 'dist', 'libpg-query.wasm'),
    ),
});
