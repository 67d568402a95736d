// File templates for `trellis new`. `templates` make whole projects (package,
// plugin, app) as { relativePath: content }; `definitionTemplates` add one
// tool, resource or prompt to an existing plugin, as a file that exports
// `add<Name><Kind>(scope)` plus its test through a real client. Each key of
// either map is a kind `trellis new` accepts: a new template is a new kind.

const json = (value) => `${JSON.stringify(value, null, 2)}\n`;

/** `word-count` → `wordCount`. */
export function camel(name) {
  return name.replace(/[-_]([a-z0-9])/g, (_, c) => c.toUpperCase());
}

/** `word-count` → `WordCount`. */
export function pascal(name) {
  const c = camel(name);
  return c.charAt(0).toUpperCase() + c.slice(1);
}

/** How to add a plugin package to an app: printed by `trellis new plugin` and written in its README. */
export function pluginWiring(name, fn) {
  return [
    `To add @trellis/${name} to an app:`,
    `  1. apps/<app>/package.json, under "dependencies":  "@trellis/${name}": "workspace:*"`,
    `  2. apps/<app>/src/main.ts:  import { ${fn} } from '@trellis/${name}';  and  plugins: [..., ${fn}()]`,
    '  3. npm run trellis -- setup   (links it; `pnpm install` does the same)',
    `Or start a new app with it:  npm run trellis -- new app <app> --plugins ${name}`,
  ].join('\n');
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

function appFiles({ name, rootRelative, version, plugins = [] }) {
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
      dependencies: Object.fromEntries(
        [...plugins.map((plugin) => plugin.packageName), '@trellis/server', '@trellis/transport']
          .sort()
          .map((dep) => [dep, 'workspace:*']),
      ),
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
      'README.md': `# @trellis/${name}\n\nA Trellis plugin.\n\n\`\`\`text\n${pluginWiring(name, fn)}\n\`\`\`\n\nAdd a tool, resource or prompt (a file and its test): \`npm run trellis -- new tool <name> --plugin ${name}\`.\n`,
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
        "        input: z.object({ text: z.string().min(1).describe('Text to echo') }),",
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
  app({ name, rootRelative, version, plugins = [] }) {
    const imports = [
      ...plugins.map((plugin) => `import { ${plugin.exportName} } from '${plugin.packageName}';`),
      "import { run } from '@trellis/transport';",
    ];
    return {
      ...appFiles({ name, rootRelative, version, plugins }),
      'README.md': [
        `# trellis-${name}`,
        '',
        'A Trellis app. From the workspace root:',
        '',
        '```sh',
        `npm run trellis -- dev ${name}                              # serve over HTTP, rebuilt on every change`,
        `npm run trellis -- inspect ${name}                          # the MCP Inspector against it`,
        `npm run trellis -- install ${name} --client claude-desktop  # or cursor, vscode`,
        `npm run trellis -- nx run @trellis-app/${name}:build        # dist/main.js; node dist/main.js --help`,
        '```',
        '',
      ].join('\n'),
      'src/main.ts': [
        ...imports.sort(),
        '',
        `run({ name: 'trellis-${name}', version: '${version}', plugins: [${plugins.map((plugin) => `${plugin.exportName}()`).join(', ')}] });`,
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

const serverTestHeader = (pluginFn) => [
  "import { createServer } from '@trellis/server';",
  "import { withClient } from '@trellis/testing';",
  "import { describe, expect, it } from 'vitest';",
  `import { ${pluginFn} } from '../index.js';`,
  '',
  `const startServer = async () => {`,
  `  const server = createServer({ name: 'test', version: '0.0.0', plugins: [${pluginFn}()], configSources: { argv: [], env: {}, envFiles: [] } });`,
  '  await server.start();',
  '  return server;',
  '};',
  '',
];

/**
 * One definition added to a plugin: `src/<folder>/<name>.ts` exporting
 * `add<Name><Kind>(scope)` (`fn`, the call the plugin's setup makes), and its
 * test, which starts the plugin (`pluginFn()` from `src/index.ts`) and drives
 * it through a real client. `plugin` is the plugin's folder name.
 */
export const definitionTemplates = {
  tool({ name, pluginFn }) {
    const tool = name.replace(/-/g, '_');
    const fn = `add${pascal(name)}Tool`;
    return {
      folder: 'tools',
      fn,
      files: {
        [`src/tools/${name}.ts`]: [
          "import type { PluginScope } from '@trellis/server';",
          "import { z } from 'zod';",
          '',
          `/** The \`${tool}\` tool: counts the characters and words of a text. Replace the input, output and handler with the real ones. */`,
          `export function ${fn}(scope: PluginScope<unknown>): void {`,
          '  scope.tools.add({',
          `    name: '${tool}',`,
          "    description: 'Counts the characters and words of the text it is given',",
          "    input: z.object({ text: z.string().min(1).describe('The text to count') }),",
          '    output: z.object({ characters: z.number().int(), words: z.number().int() }),',
          '    annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },',
          '    handler: ({ text }) => {',
          '      const counts = { characters: text.length, words: text.split(/\\s+/).filter(Boolean).length };',
          "      return { content: [{ type: 'text', text: `${counts.characters} characters, ${counts.words} words` }], structuredContent: counts };",
          '    },',
          '  });',
          '}',
          '',
        ].join('\n'),
        [`src/tools/${name}.test.ts`]: [
          ...serverTestHeader(pluginFn),
          `describe('${tool} tool', () => {`,
          "  it.each(['legacy', 'modern'] as const)('answers through a real client (%s)', async (era) => {",
          '    const server = await startServer();',
          '    try {',
          `      const result = await withClient(server, { era }, (client) => client.callTool({ name: '${tool}', arguments: { text: 'hello there' } }));`,
          '      expect(result.structuredContent).toEqual({ characters: 11, words: 2 });',
          '    } finally {',
          '      await server.close();',
          '    }',
          '  });',
          '',
          "  it('tells the model which argument is wrong', async () => {",
          '    const server = await startServer();',
          '    try {',
          `      const result = await withClient(server, {}, (client) => client.callTool({ name: '${tool}', arguments: { text: '' } }));`,
          '      expect(result.isError).toBe(true);',
          "      expect(JSON.stringify(result.content)).toContain('text');",
          '    } finally {',
          '      await server.close();',
          '    }',
          '  });',
          '});',
          '',
        ].join('\n'),
      },
    };
  },
  resource({ name, plugin, pluginFn }) {
    const fn = `add${pascal(name)}Resource`;
    const uri = `${plugin}://${name}`;
    return {
      folder: 'resources',
      fn,
      files: {
        [`src/resources/${name}.ts`]: [
          "import type { PluginScope } from '@trellis/server';",
          '',
          `/** The \`${uri}\` resource: a JSON document. Replace what \`read\` returns with the real content. */`,
          `export function ${fn}(scope: PluginScope<unknown>): void {`,
          '  scope.resources.add({',
          `    uri: '${uri}',`,
          `    name: '${name}',`,
          `    description: 'What ${name} holds, for the model',`,
          "    mimeType: 'application/json',",
          `    read: () => JSON.stringify({ name: '${name}', createdBy: scope.name }),`,
          '  });',
          '}',
          '',
        ].join('\n'),
        [`src/resources/${name}.test.ts`]: [
          ...serverTestHeader(pluginFn),
          `describe('${uri} resource', () => {`,
          "  it.each(['legacy', 'modern'] as const)('is listed and read through a real client (%s)', async (era) => {",
          '    const server = await startServer();',
          '    try {',
          '      await withClient(server, { era }, async (client) => {',
          '        const { resources } = await client.listResources();',
          `        expect(resources.map((r) => r.uri)).toContain('${uri}');`,
          `        const { contents } = await client.readResource({ uri: '${uri}' });`,
          "        expect(contents[0]).toMatchObject({ mimeType: 'application/json' });",
          `        expect(JSON.parse((contents[0] as { text: string }).text)).toMatchObject({ name: '${name}' });`,
          '      });',
          '    } finally {',
          '      await server.close();',
          '    }',
          '  });',
          '});',
          '',
        ].join('\n'),
      },
    };
  },
  prompt({ name, pluginFn }) {
    const prompt = name.replace(/-/g, '_');
    const fn = `add${pascal(name)}Prompt`;
    return {
      folder: 'prompts',
      fn,
      files: {
        [`src/prompts/${name}.ts`]: [
          "import type { PluginScope } from '@trellis/server';",
          "import { z } from 'zod';",
          '',
          `/** The \`${prompt}\` prompt: asks for a summary of a topic. Replace the arguments and messages with the real ones. */`,
          `export function ${fn}(scope: PluginScope<unknown>): void {`,
          '  scope.prompts.add({',
          `    name: '${prompt}',`,
          "    description: 'Asks the model for a short summary of a topic',",
          "    arguments: z.object({ topic: z.string().min(1).describe('What to summarise') }),",
          "    get: ({ topic }) => [{ role: 'user', content: { type: 'text', text: `Summarise ${topic} in three sentences.` } }],",
          '  });',
          '}',
          '',
        ].join('\n'),
        [`src/prompts/${name}.test.ts`]: [
          ...serverTestHeader(pluginFn),
          `describe('${prompt} prompt', () => {`,
          "  it.each(['legacy', 'modern'] as const)('is listed and rendered through a real client (%s)', async (era) => {",
          '    const server = await startServer();',
          '    try {',
          '      await withClient(server, { era }, async (client) => {',
          '        const { prompts } = await client.listPrompts();',
          `        expect(prompts.map((p) => p.name)).toContain('${prompt}');`,
          `        const { messages } = await client.getPrompt({ name: '${prompt}', arguments: { topic: 'tides' } });`,
          "        expect(messages).toEqual([{ role: 'user', content: { type: 'text', text: 'Summarise tides in three sentences.' } }]);",
          '      });',
          '    } finally {',
          '      await server.close();',
          '    }',
          '  });',
          '});',
          '',
        ].join('\n'),
      },
    };
  },
};
