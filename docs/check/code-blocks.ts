// Collects the code the docs show — the fenced blocks of the guides and every `@example` of the API reference —
// and type-checks it in one TypeScript program against the packages' published declarations (their dist/*.d.ts,
// built before the docs), as a user's editor would see them.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import ts from 'typescript';
import { apiEntryPoints, documents } from '../typedoc.config.mjs';

export { apiEntryPoints };

export const docsDir = join(import.meta.dirname, '..');
export const workspaceRoot = join(docsDir, '..');

/** One piece of example code and where it was written. */
export interface CodeBlock {
  /** `guides/plugins.md:42` or `packages/concurrency/src/semaphore.ts:33`. */
  source: string;
  lang: string;
  code: string;
  /** Guides: the folder the block's relative imports start from. */
  dir: string;
  /** `@example`s: the import specifier of the package it documents. */
  packageName?: string;
  /** Guides: a block's name (` ```ts example=app `), under which the page's other blocks import it (`./app.js`). */
  name?: string;
}

/** The markdown pages of the site: the start page and the documents (typedoc.config.mjs). */
export function guidePages(): string[] {
  return [join(docsDir, 'index.md'), ...documents()];
}

/** The fenced code blocks of a markdown file. */
export function markdownBlocks(file: string): CodeBlock[] {
  const lines = readFileSync(file, 'utf8').split('\n');
  const blocks: CodeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})\s*([\w+-]*)(.*)$/.exec(lines[i]!);
    if (!open) continue;
    const [, indent, fence, lang, info] = open;
    const name = /\bexample=([\w-]+)/.exec(info!)?.[1];
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length && !lines[j]!.trimStart().startsWith(fence!); j++)
      body.push(lines[j]!.slice(indent!.length));
    blocks.push({
      source: `${relative(docsDir, file)}:${i + 1}`,
      lang: lang!.toLowerCase(),
      code: body.join('\n'),
      dir: dirname(file),
      ...(name && { name }),
    });
    i = j;
  }
  return blocks;
}

function exampleCode(comment: string): { lang: string; code: string }[] {
  // An ellipsis stands for code left out.
  const text = comment.replace(/…/g, '/* … */');
  const fenced = [...text.matchAll(/```(\w*)\n([\s\S]*?)```/g)];
  if (fenced.length > 0) return fenced.map((match) => ({ lang: match[1] || 'ts', code: match[2]! }));
  return [{ lang: 'ts', code: text }];
}

/** Every `@example` in the source files of the documented packages (tests excluded). */
export function jsdocExamples(): CodeBlock[] {
  const entries = apiEntryPoints();
  const packageDirs = [...new Set(entries.map((entry) => entry.file.slice(0, entry.file.indexOf('/src/'))))];
  const blocks: CodeBlock[] = [];
  for (const packageDir of packageDirs) {
    const packageName = entries
      .find((entry) => entry.file.startsWith(`${packageDir}/src/`))!
      .specifier.split('/')
      .slice(0, 2)
      .join('/');
    const files = readdirSync(join(packageDir, 'src'), { recursive: true, encoding: 'utf8' })
      .filter((name) => name.endsWith('.ts') && !name.endsWith('.test.ts') && !name.endsWith('.d.ts'))
      .sort();
    for (const name of files) {
      const file = join(packageDir, 'src', name);
      const text = readFileSync(file, 'utf8');
      if (!text.includes('@example')) continue;
      const sourceFile = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
      const visit = (node: ts.Node) => {
        for (const tag of ts.getJSDocTags(node)) {
          if (tag.tagName.text !== 'example' || tag.parent.parent !== node) continue;
          const comment = ts.getTextOfJSDocComment(tag.comment) ?? '';
          const line = sourceFile.getLineAndCharacterOfPosition(tag.getStart()).line + 1;
          for (const { lang, code } of exampleCode(comment)) {
            blocks.push({ source: `${relative(workspaceRoot, file)}:${line}`, lang, code, dir: docsDir, packageName });
          }
        }
        ts.forEachChild(node, visit);
      };
      visit(sourceFile);
    }
  }
  // A tag shared by several declarations (an overload list) is reported once.
  return blocks.filter(
    (block, index) => blocks.findIndex((other) => other.source === block.source && other.code === block.code) === index,
  );
}

export const TYPESCRIPT = new Set(['ts', 'typescript', 'tsx']);

function compilerOptions(): ts.CompilerOptions {
  const configPath = join(docsDir, 'tsconfig.json');
  const parsed = ts.parseJsonConfigFileContent(ts.readConfigFile(configPath, ts.sys.readFile).config, ts.sys, docsDir);
  // Generated imports do not say which names are types: let the compiler tell them apart. No `@trellis/source`
  // condition: packages resolve to their declarations, not their sources.
  return {
    ...parsed.options,
    customConditions: [],
    noEmit: true,
    noUnusedLocals: false,
    noUnusedParameters: false,
    verbatimModuleSyntax: false,
    isolatedModules: false,
  };
}

/** The surroundings an `@example` may use without declaring them (`ctx`, `scope`, …), typed in example-context.d.ts. */
const CONTEXT_FILE = join(docsDir, 'check', 'example-context.d.ts');
const CONTEXT_SPECIFIER = './example-context.js';

const isModule = (code: string) => /^\s*(import|export)\s/m.test(code);

/**
 * The text compiled for a block. Guide blocks are whole modules, compiled as written. An `@example` is a
 * fragment: names it takes from the packages are imported for it (the documented package first), the names in
 * example-context.d.ts stand for the surrounding code, and a fragment that is not a module runs as the body of
 * an async function (so it may `await` and `return`).
 */
function programText(block: CodeBlock, imports: Map<string, string>, free: readonly string[] = []): string {
  if (!block.packageName) return isModule(block.code) ? block.code : `${block.code}\nexport {};\n`;
  const bySpecifier = new Map<string, string[]>();
  for (const [name, specifier] of imports) bySpecifier.set(specifier, [...(bySpecifier.get(specifier) ?? []), name]);
  const header = [
    ...[...bySpecifier].map(([specifier, names]) => `import { ${names.join(', ')} } from '${specifier}';`),
    ...free.map((name) => `declare const ${name}: any; type ${name} = any;`),
  ].join('\n');
  const body = isModule(block.code) ? block.code : `export async function example() {\n${block.code}\n}`;
  return `${header}\n${body}\nexport {};\n`;
}

/** How many lines `programText` put before the block's first line. */
function offsetOf(block: CodeBlock, imports: Map<string, string>, free: readonly string[]): number {
  const text = programText(block, imports, free);
  return text.slice(0, text.indexOf(block.code)).split('\n').length - 1;
}

export interface BlockResult {
  block: CodeBlock;
  problems: string[];
}

const CANNOT_FIND_NAME = new Set([2304, 2552, 2582, 18004]);
/** "Parameter implicitly has an 'any' type": in an @example, a callback given to the caller's own code (declared `any`). */
const IMPLICIT_ANY = new Set([7006, 7031]);
/** Packages whose exports any @example may use; a plugin package's exports only its own examples. */
const CORE_PACKAGES = [
  '@trellis/server',
  '@trellis/transport',
  '@trellis/tools',
  '@trellis/resources',
  '@trellis/prompts',
  '@trellis/config',
  '@trellis/concurrency',
  '@trellis/testing',
];
const packageOf = (specifier: string) => specifier.split('/').slice(0, 2).join('/');

/** Type-checks the TypeScript blocks; each result lists the compiler's complaints, located in the block. */
export function typecheckBlocks(blocks: CodeBlock[]): BlockResult[] {
  const options = compilerOptions();
  const files = new Map<string, { block: CodeBlock; imports: Map<string, string>; free: string[] }>();
  blocks.forEach((block, index) => {
    // A named block lives, with the other named blocks of its page, in a folder of that page's own.
    const page = block.source.replace(/[^\w]+/g, '_').replace(/_\d+$/, '');
    const fileName = block.packageName
      ? join(docsDir, 'check', `__docs_block_${index}.ts`)
      : block.name
        ? join(block.dir, `__docs_${page}`, `${block.name}.ts`)
        : join(block.dir, `__docs_block_${index}.ts`);
    files.set(fileName, { block, imports: new Map(), free: [] });
  });

  const host = ts.createCompilerHost(options, true);
  const readFile = host.readFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  const getSourceFile = host.getSourceFile.bind(host);
  const textOf = (name: string) => {
    const virtual = files.get(name)!;
    return programText(virtual.block, virtual.imports, virtual.free);
  };
  host.readFile = (name) => (files.has(name) ? textOf(name) : readFile(name));
  host.fileExists = (name) => files.has(name) || fileExists(name);
  const virtualDirs = new Set([...files.keys()].map((name) => dirname(name)));
  const directoryExists = host.directoryExists?.bind(host);
  host.directoryExists = (name) => virtualDirs.has(name) || (directoryExists ? directoryExists(name) : true);
  host.getSourceFile = (name, language, onError, create) => {
    const virtual = files.get(name);
    if (virtual) return ts.createSourceFile(name, textOf(name), language, true);
    return getSourceFile(name, language, onError, create);
  };

  const missingBuild = apiEntryPoints().filter((entry) => !existsSync(entry.types));
  if (missingBuild.length > 0)
    throw new Error(
      `build the packages first: no ${missingBuild.map((entry) => relative(workspaceRoot, entry.types)).join(', ')}`,
    );
  const roots = [...files.keys(), CONTEXT_FILE, ...apiEntryPoints().map((entry) => entry.types)];
  let program = ts.createProgram(roots, options, host);

  // Pass 1: what each package exports.
  const checker = program.getTypeChecker();
  const exported = new Map<string, string[]>(); // name → specifiers exporting it
  for (const entry of apiEntryPoints()) {
    const symbol = checker.getSymbolAtLocation(program.getSourceFile(entry.types)!);
    for (const item of symbol ? checker.getExportsOfModule(symbol) : [])
      exported.set(item.name, [...(exported.get(item.name) ?? []), entry.specifier]);
  }
  const context = checker.getSymbolAtLocation(program.getSourceFile(CONTEXT_FILE)!);
  for (const item of context ? checker.getExportsOfModule(context) : [])
    exported.set(item.name, [...(exported.get(item.name) ?? []), CONTEXT_SPECIFIER]);
  exported.set('z', ['zod']);
  for (const name of ['describe', 'it', 'expect', 'vi', 'beforeAll', 'afterAll', 'beforeEach', 'afterEach'])
    exported.set(name, ['vitest']);
  const missingNames = (fileName: string) =>
    program
      .getSemanticDiagnostics(program.getSourceFile(fileName)!)
      .filter((diagnostic) => CANNOT_FIND_NAME.has(diagnostic.code))
      .map((diagnostic) => ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n').match(/'([^']+)'/)?.[1])
      .filter((name): name is string => name !== undefined);
  const examples = [...files].filter(([, entry]) => entry.block.packageName !== undefined);

  // Each @example's missing names come from the packages (its own first) or example-context.d.ts; what no one
  // exports is the caller's own code (`fetchProfile`, `ids`), declared `any`, so the example's use of the Trellis
  // API is still checked. Then the final program.
  for (const [fileName, entry] of examples) {
    for (const name of new Set(missingNames(fileName))) {
      const own = entry.block.packageName!;
      const from = exported
        .get(name)
        ?.filter(
          (specifier) =>
            !specifier.startsWith('@trellis/') ||
            packageOf(specifier) === own ||
            CORE_PACKAGES.includes(packageOf(specifier)),
        );
      if (from?.length) entry.imports.set(name, from.find((specifier) => packageOf(specifier) === own) ?? from[0]!);
      else entry.free.push(name);
    }
  }
  program = ts.createProgram(roots, options, host, program);

  return [...files].map(([fileName, { block, imports, free }]) => {
    const sourceFile = program.getSourceFile(fileName)!;
    const offset = offsetOf(block, imports, free);
    const diagnostics = [
      ...program.getSyntacticDiagnostics(sourceFile),
      ...program.getSemanticDiagnostics(sourceFile),
    ].filter((diagnostic) => !(block.packageName && free.length > 0 && IMPLICIT_ANY.has(diagnostic.code)));
    const problems = diagnostics.map((diagnostic) => {
      const line =
        diagnostic.start === undefined ? 0 : sourceFile.getLineAndCharacterOfPosition(diagnostic.start).line - offset;
      return `line ${line + 1} of the block: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')} (TS${diagnostic.code})`;
    });
    return { block, problems };
  });
}
