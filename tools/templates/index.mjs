// File templates for `pnpm new`. Each returns { relativePath: content }.

const json = (value) => `${JSON.stringify(value, null, 2)}\n`;

function camel(name) {
  return name.replace(/-([a-z0-9])/g, (_, c) => c.toUpperCase());
}

function libraryFiles({ name, rootRelative, version, dependencies = {}, devDependencies, description }) {
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
      ...(devDependencies && { devDependencies }),
    }),
    'tsconfig.json': json({
      extends: `${rootRelative}/tsconfig.base.json`,
      include: ['src', 'test', '*.ts'],
    }),
    'tsup.config.ts': `import { libraryBuild } from '${rootRelative}/tsup.shared.ts';\n\nexport default libraryBuild();\n`,
    'vitest.config.ts': `import { trellisVitestConfig } from '${rootRelative}/vitest.shared.ts';\n\nexport default trellisVitestConfig();\n`,
  };
}

function appFiles({ name, rootRelative, version }) {
  return {
    'package.json': json({
      name: `@trellis-app/${name}`,
      version,
      private: true,
      description: `Trellis app ${name}`,
      type: 'module',
      bin: { [`trellis-${name}`]: './dist/main.js' },
      files: ['dist'],
      scripts: {
        build: 'tsup',
        typecheck: 'tsc -p tsconfig.json',
        test: 'vitest run',
        lint: 'eslint .',
        start: 'node dist/main.js',
      },
      nx: { targets: { test: { dependsOn: ['build'] } } },
      dependencies: { '@trellis/transport': 'workspace:*', '@trellis/server': 'workspace:*' },
      devDependencies: { '@modelcontextprotocol/client': '2.4.0' },
    }),
    'tsconfig.json': json({ extends: `${rootRelative}/tsconfig.base.json`, include: ['src', 'test', '*.ts'] }),
    'tsup.config.ts': `import { appBuild } from '${rootRelative}/tsup.shared.ts';\n\nexport default appBuild();\n`,
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
  plugin({ name, rootRelative, version }) {
    const fn = camel(name);
    const tool = name.replace(/-/g, '_');
    return {
      ...libraryFiles({
        name,
        rootRelative,
        version,
        description: `Trellis plugin ${name}`,
        dependencies: { '@trellis/server': 'workspace:*', zod: '^4.6.7' },
        devDependencies: { '@trellis/testing': 'workspace:*' },
      }),
      'README.md': `# @trellis/${name}\n\nA Trellis plugin. Add it to an app: \`run({ ..., plugins: [${fn}()] })\`.\n`,
      'src/index.ts': [
        "import { definePlugin } from '@trellis/server';",
        "import { z } from 'zod';",
        '',
        `/** The ${name} plugin: replace the sample tool with the plugin's real ones. */`,
        `export function ${fn}() {`,
        '  return definePlugin({',
        `    name: '${name}',`,
        '    setup(scope) {',
        '      scope.tools.add({',
        `        name: '${tool}_echo',`,
        "        description: 'Echoes the text it is given',",
        '        input: z.object({ text: z.string().min(1).describe(\'Text to echo\') }),',
        '        handler: ({ text }) => text,',
        '      });',
        '    },',
        '  });',
        '}',
        '',
      ].join('\n'),
      'src/index.test.ts': [
        "import { createServer } from '@trellis/server';",
        "import { connectInProcess } from '@trellis/testing';",
        "import { describe, expect, it } from 'vitest';",
        `import { ${fn} } from './index.js';`,
        '',
        `describe('${name} plugin', () => {`,
        "  it.each(['legacy', 'modern'] as const)('echoes through a real client (%s)', async (era) => {",
        `    const server = createServer({ name: 'test', version: '0.0.0', plugins: [${fn}()], configSources: { argv: [], env: {}, envFiles: [] } });`,
        '    await server.start();',
        '    const { client, close } = await connectInProcess(server, { era });',
        '    try {',
        `      const result = await client.callTool({ name: '${tool}_echo', arguments: { text: 'hi' } });`,
        "      expect(result.content).toEqual([{ type: 'text', text: 'hi' }]);",
        '    } finally {',
        '      await close();',
        '      await server.close();',
        '    }',
        '  });',
        '});',
        '',
      ].join('\n'),
    };
  },
  app({ name, rootRelative, version }) {
    return {
      ...appFiles({ name, rootRelative, version }),
      'README.md': `# trellis-${name}\n\nA Trellis app. Build with \`pnpm nx run @trellis-app/${name}:build\`, run with \`node dist/main.js --help\`.\n`,
      'src/main.ts': [
        "import { run } from '@trellis/transport';",
        '',
        `run({ name: 'trellis-${name}', version: '${version}', plugins: [] });`,
        '',
      ].join('\n'),
      'test/main.test.ts': [
        "import { existsSync } from 'node:fs';",
        "import { join } from 'node:path';",
        "import { Client } from '@modelcontextprotocol/client';",
        "import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';",
        "import { describe, expect, it } from 'vitest';",
        '',
        "const bundle = join(import.meta.dirname, '..', 'dist', 'main.js');",
        '',
        `describe('trellis-${name} bundle', () => {`,
        "  it('serves over stdio to a real client', async () => {",
        '    expect(existsSync(bundle)).toBe(true);',
        `    const client = new Client({ name: 'test', version: '0.0.0' });`,
        "    await client.connect(new StdioClientTransport({ command: process.execPath, args: [bundle], stderr: 'ignore' }));",
        '    try {',
        '      const { resources } = await client.listResources();',
        "      expect(resources.map((r) => r.uri)).toContain('config://settings');",
        '    } finally {',
        '      await client.close();',
        '    }',
        '  });',
        '});',
        '',
      ].join('\n'),
    };
  },
};
