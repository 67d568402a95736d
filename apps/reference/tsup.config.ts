import { copyAssets } from './assets.ts';
import { appBuild } from '../../tsup.shared.ts';

export default appBuild({
  // The bundle reads dist/corpus and dist/samples at run time (relative to import.meta.url).
  onSuccess: async () => void copyAssets(import.meta.dirname),
});
