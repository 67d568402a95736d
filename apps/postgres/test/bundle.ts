import { join } from 'node:path';

/** The built app: tests run after `build` (nx dependsOn). */
export const DIST = join(import.meta.dirname, '..', 'dist');
export const BUNDLE = join(DIST, 'main.js');
