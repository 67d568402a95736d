import { libraryBuild } from '../../tsup.shared.ts';

// Two entries: the root (in-process helpers) and the Node-only `./apps` subpath.
export default libraryBuild({ entry: { index: 'src/index.ts', apps: 'src/apps/index.ts' } });
