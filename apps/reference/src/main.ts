import { fileURLToPath } from 'node:url';
import { files } from '@trellis/files';
import { referencePlugins } from '@trellis/reference-plugins';
import { search } from '@trellis/search';
import { run } from '@trellis/transport';
import pkg from '../package.json' with { type: 'json' };

/** An asset shipped beside the bundle in dist/ (see assets.ts). */
const shipped = (name: string) => fileURLToPath(new URL(`./${name}`, import.meta.url));

void run({
  name: 'trellis-reference',
  version: pkg.version,
  description:
    'The Trellis reference server: add_numbers, search over a local corpus (re-indexed when it changes), hash_file on a worker thread, server_dashboard, sandboxed file resources, config://settings and the code_review prompt.',
  plugins: [files({ roots: [shipped('samples')] }), search({ paths: [shipped('corpus')] }), ...referencePlugins()],
});
