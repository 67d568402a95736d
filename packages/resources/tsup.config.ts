import { libraryBuild } from '../../tsup.shared.ts';

// The root entry stays runtime-neutral; the file provider (node:fs) is the `./files` subpath.
export default libraryBuild({ entry: { index: 'src/index.ts', files: 'src/files/index.ts' } });
