// What `pnpm pack` and `pnpm publish` (and so `changeset publish`) put in a published package.json.
// pnpm has already turned `workspace:*` into real versions when this runs.
'use strict';

const SOURCE_CONDITION = '@trellis/source';

/** Drops the workspace-only `@trellis/source` condition: a published package resolves to dist/ only. */
function withoutSourceCondition(exportsField) {
  if (typeof exportsField !== 'object' || exportsField === null) return exportsField;
  const out = {};
  for (const [key, value] of Object.entries(exportsField)) {
    if (key === SOURCE_CONDITION) continue;
    out[key] = withoutSourceCondition(value);
  }
  return out;
}

function beforePacking(pkg) {
  if (pkg.exports) pkg.exports = withoutSourceCondition(pkg.exports);
  // Workspace wiring a consumer never reads.
  delete pkg.nx;
  delete pkg.scripts;
  delete pkg.devDependencies;
  // An app's dist/ is one self-contained bundle (tsup `noExternal`): everything it imports is inside, so
  // `npx -y <app>` installs nothing else (and never asks the registry for the private plugin packages).
  if (pkg.name.startsWith('@trellis-app/')) delete pkg.dependencies;
  return pkg;
}

module.exports = { hooks: { beforePacking } };
