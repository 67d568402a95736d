// File templates for `pnpm new`. Each returns { relativePath: content }.

const json = (value) => `${JSON.stringify(value, null, 2)}\n`;

function camel(name) {
  return name.replace(/-([a-z0-9])/g, (_, c) => c.toUpperCase());
}

function libraryFiles({ name, rootRelative, version, dependencies = {}, description }) {
  return {
    'package.json': json({
      name: `@trellis/${name}`,
      version,
      description,
      type: 'module',
      sideEffects: false,
      exports: {
        '.': {
          '@trellis/source': './src/index.ts',
          types: './dist/index.d.ts',
          default: './dist/index.js',
        },
      },
      files: ['dist'],
      scripts: {
        build: 'tsup',
        typecheck: 'tsc -p tsconfig.json',
        test: 'vitest run',
        lint: 'eslint .',
      },
      dependencies,
    }),
    'tsconfig.json': json({
      extends: `${rootRelative}/tsconfig.base.json`,
      include: ['src', 'test', '*.ts'],
    }),
    'tsup.config.ts': `import { libraryBuild } from '${rootRelative}/tsup.shared.ts';\n\nexport default libraryBuild();\n`,
    'vitest.config.ts': `import { trellisVitestConfig } from '${rootRelative}/vitest.shared.ts';\n\nexport default trellisVitestConfig();\n`,
  };
}

export const templates = {
  package({ name, rootRelative, version }) {
    const fn = camel(`describe-${name}`);
    return {
      ...libraryFiles({ name, rootRelative, version, description: `@trellis/${name}` }),
      'README.md': `# @trellis/${name}\n\nWhat this package does, in one sentence.\n`,
      'src/index.ts': `/** Names this package; replace with the package's real API. */\nexport function ${fn}(): string {\n  return '@trellis/${name}';\n}\n`,
      'src/index.test.ts': `import { describe, expect, it } from 'vitest';\nimport { ${fn} } from './index.js';\n\ndescribe('@trellis/${name}', () => {\n  it('names itself', () => {\n    expect(${fn}()).toBe('@trellis/${name}');\n  });\n});\n`,
    };
  },
};
