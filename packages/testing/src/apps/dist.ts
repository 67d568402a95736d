import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface DistCopy {
  /** The new, otherwise empty folder (use it as the working directory). */
  home: string;
  /** `<home>/dist`: the copy. */
  dist: string;
  /** `<home>/dist/main.js`. */
  main: string;
  /** Deletes `home` and everything in it. */
  remove(): void;
}

/**
 * Copies an app's `dist/` folder alone into a fresh folder under the system
 * temp directory, far from the workspace and its node_modules, to prove the
 * bundle runs with only Node.
 * @example
 * const copy = copyDistAlone(DIST);
 * try { await connectBundle({ bundle: copy.main, cwd: copy.home, transport: 'stdio', client: 'v2' }); } finally { copy.remove(); }
 */
export function copyDistAlone(dist: string, prefix = 'trellis-dist-alone-'): DistCopy {
  if (!existsSync(join(dist, 'main.js')))
    throw new TypeError(`copyDistAlone: ${dist} holds no main.js (build the app first)`);
  const home = mkdtempSync(join(tmpdir(), prefix));
  const copy = join(home, 'dist');
  cpSync(dist, copy, { recursive: true });
  return {
    home,
    dist: copy,
    main: join(copy, 'main.js'),
    remove: () => rmSync(home, { recursive: true, force: true }),
  };
}
