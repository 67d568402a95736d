import { definePlugin } from '@trellis/server';
import { z } from 'zod';

/** Languages offered when completing the `language` argument. */
export const REVIEW_LANGUAGES: readonly string[] = [
  'bash',
  'c',
  'c++',
  'c#',
  'clojure',
  'css',
  'dart',
  'elixir',
  'erlang',
  'go',
  'haskell',
  'html',
  'java',
  'javascript',
  'json',
  'kotlin',
  'lua',
  'markdown',
  'ocaml',
  'perl',
  'php',
  'python',
  'r',
  'ruby',
  'rust',
  'scala',
  'shell',
  'sql',
  'swift',
  'terraform',
  'typescript',
  'yaml',
  'zig',
];

/** The shortest run of backticks (≥ 3) that does not occur in `code`, so the fence cannot be closed early. */
function fenceFor(code: string): string {
  let longest = 0;
  for (const run of code.match(/`+/g) ?? []) longest = Math.max(longest, run.length);
  return '`'.repeat(Math.max(3, longest + 1));
}

/**
 * The `code_review` prompt: asks the model to review `code` written in
 * `language` for correctness, security, clarity and tests, with completion of
 * the language. The code is fenced so that nothing in it can end the fence.
 * @example run({ name: 'review', version: '1.0.0', plugins: [codeReview()] });
 */
export function codeReview() {
  return definePlugin({
    name: 'code-review',
    setup(scope) {
      scope.prompts.add({
        name: 'code_review',
        title: 'Code review',
        description: 'Review code for correctness, security, readability and tests',
        arguments: z.object({
          language: z.string().min(1).max(40).describe('Programming language of the code (e.g. typescript, python)'),
          code: z.string().min(1).describe('The code to review'),
        }),
        complete: {
          language: (value) => {
            const typed = value.toLowerCase();
            return REVIEW_LANGUAGES.filter((language) => language.startsWith(typed));
          },
        },
        get({ language, code }) {
          const fence = fenceFor(code);
          const tag = language.toLowerCase().replace(/[^a-z0-9+#-]/g, '');
          return {
            description: `Code review for ${language}`,
            messages: [
              {
                role: 'user',
                content: {
                  type: 'text',
                  text: [
                    `Review this ${language} code. For each finding give the line, the problem, why it matters and a concrete fix.`,
                    'Cover, in order: correctness bugs, security issues, error handling, readability and naming, and missing tests.',
                    `Follow the idioms of ${language}; say so plainly if the code is fine.`,
                    '',
                    `${fence}${tag}`,
                    code,
                    fence,
                  ].join('\n'),
                },
              },
            ],
          };
        },
      });
    },
  });
}
