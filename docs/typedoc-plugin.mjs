// Names each API module after the import a user writes (`@trellis/resources/files`), read from the package's
// own exports map, instead of TypeDoc's path-based name (`resources/src/files`); and points links to the MCP
// SDK's symbols (in comments our classes inherit from SDK interfaces) at the SDK package's page.
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { Converter, ReflectionKind } from 'typedoc';

/** The import specifier of a package entry file, from the nearest package.json's `exports`. */
function specifierOf(entryFile) {
  let dir = dirname(entryFile);
  for (;;) {
    try {
      const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
      for (const [subpath, target] of Object.entries(manifest.exports ?? {})) {
        const source = typeof target === 'object' ? target['@trellis/source'] : undefined;
        if (source && resolve(dir, source) === resolve(entryFile))
          return subpath === '.' ? manifest.name : `${manifest.name}/${subpath.slice(2)}`;
      }
      return undefined;
    } catch {
      const parent = dirname(dir);
      if (parent === dir) return undefined;
      dir = parent;
    }
  }
}

const SDK_PACKAGE = /^@modelcontextprotocol\/[a-z-]+/;

export function load(app) {
  app.converter.addUnknownSymbolResolver((reference) => {
    const sdk = reference.moduleSource && SDK_PACKAGE.exec(reference.moduleSource)?.[0];
    return sdk ? `https://www.npmjs.com/package/${sdk}` : undefined;
  });
  app.converter.on(Converter.EVENT_CREATE_DECLARATION, (context, reflection) => {
    if (!reflection.kindOf(ReflectionKind.Module)) return;
    const symbol = context.getSymbolFromReflection(reflection);
    const file = symbol?.declarations?.find((declaration) => declaration.getSourceFile)?.getSourceFile().fileName;
    const name = file && specifierOf(file);
    if (name) reflection.name = name;
    else app.logger.warn(`docs: no package export points at ${file ? relative(process.cwd(), file) : reflection.name}`);
  });
}
