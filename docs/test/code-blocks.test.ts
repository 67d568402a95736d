// Every TypeScript block of the guides and every `@example` of the API reference compiles against the packages'
// sources; every JSON block parses. The checker lives in check/code-blocks.ts.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  docsDir,
  guidePages,
  jsdocExamples,
  markdownBlocks,
  typecheckBlocks,
  TYPESCRIPT,
  type BlockResult,
  type CodeBlock,
} from '../check/code-blocks.js';

const guideBlocks = guidePages().flatMap(markdownBlocks);
const examples = jsdocExamples().filter((block) => TYPESCRIPT.has(block.lang));
// Two wrong blocks checked with the others, to show the checker reports what is wrong.
const wrongGuideBlock: CodeBlock = {
  source: 'wrong guide block',
  lang: 'ts',
  code: "import { Semaphore } from '@trellis/concurrency';\nnew Semaphore('ten');",
  dir: join(docsDir, 'guides'),
};
const wrongExample: CodeBlock = {
  source: 'wrong @example',
  lang: 'ts',
  code: 'await sem.run(() => 1, { timeoutSeconds: 5 });',
  dir: docsDir,
  packageName: '@trellis/concurrency',
};
let results: BlockResult[] | undefined;
const allResults = () =>
  (results ??= typecheckBlocks([
    ...guideBlocks.filter((block) => TYPESCRIPT.has(block.lang)),
    ...examples,
    wrongGuideBlock,
    wrongExample,
  ]));
const resultsFor = (prefix: 'guide' | 'example') =>
  allResults().filter(
    (result) =>
      result.block !== wrongGuideBlock &&
      result.block !== wrongExample &&
      (prefix === 'example') === (result.block.packageName !== undefined),
  );

describe('the checker', () => {
  it('reports a wrong argument in a guide block and an unknown option in an @example', () => {
    const wrong = allResults().filter((result) => result.block === wrongGuideBlock || result.block === wrongExample);
    expect(wrong[0]!.problems.join('\n')).toMatch(
      /line 2 of the block: Argument of type 'string' is not assignable to parameter of type 'number'/,
    );
    expect(wrong[1]!.problems.join('\n')).toMatch(/line 1 of the block: .*timeoutSeconds/);
  });
});

describe('guides', () => {
  it('have TypeScript blocks to check (the collector finds them)', () => {
    expect(guideBlocks.filter((block) => TYPESCRIPT.has(block.lang)).length).toBeGreaterThan(5);
  });

  it('every TypeScript block compiles', () => {
    const failing = resultsFor('guide').filter((result) => result.problems.length > 0);
    expect(failing.map((result) => `${result.block.source}\n  ${result.problems.join('\n  ')}`)).toEqual([]);
  });

  it('every JSON block parses', () => {
    const bad = guideBlocks
      .filter((block) => block.lang === 'json')
      .flatMap((block) => {
        // A block may show one member of a larger document (`"trellis": { … }` of a package.json).
        for (const text of [block.code, `{${block.code}}`]) {
          try {
            JSON.parse(text);
            return [];
          } catch {
            // the next reading
          }
        }
        return [`${block.source}: not JSON, nor one member of a JSON object`];
      });
    expect(bad).toEqual([]);
  });
});

describe('API reference @examples', () => {
  it('are collected from every documented package', () => {
    expect(examples.length).toBeGreaterThan(50);
  });

  it('every @example compiles', () => {
    const failing = resultsFor('example').filter((result) => result.problems.length > 0);
    expect(
      failing.map((result) => `${result.block.source}\n  ${result.problems.join('\n  ')}\n${result.block.code}`),
    ).toEqual([]);
  });
});
