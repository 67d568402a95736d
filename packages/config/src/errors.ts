/**
 * Where a value came from: a flag, the environment, an env file (named as listed in `envFiles`, by default
 * `.env.local` or `.env`), the schema's default, or `unset` when nothing gave one.
 */
export type ConfigSource = 'flag' | 'env' | '.env.local' | '.env' | 'default' | 'unset' | (string & {});

/** One problem with the configuration. Safe to show: `given` and `message` never hold a secret. */
export interface ConfigIssue {
  /** The env var name, or undefined for a problem with the command line or an env file as a whole. */
  key: string | undefined;
  /** The flag involved (`--port`), or undefined. */
  flag: string | undefined;
  source: ConfigSource;
  /** The value given, `[redacted]` for a secret, URL passwords masked; undefined when none was given. */
  given: string | undefined;
  /** The accepted form in words (`a port number (an integer from 0 to 65535)`). */
  expected: string;
  /** One line naming the variable or flag, what was given and what was expected. */
  message: string;
}

/**
 * The configuration is invalid: `issues` lists every problem found (bad values, missing required values,
 * unknown flags), and `message` is a multi-line text meant for a person, one problem a line.
 *
 * @example
 * try {
 *   return loadConfig(schema);
 * } catch (error) {
 *   if (error instanceof ConfigError) {
 *     process.stderr.write(`${error.message}\n`);
 *     process.exit(1);
 *   }
 *   throw error;
 * }
 */
export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  readonly issues: readonly ConfigIssue[];
  constructor(issues: readonly ConfigIssue[]) {
    const count = issues.length === 1 ? '1 problem' : `${issues.length} problems`;
    super(
      [
        `Invalid configuration (${count}):`,
        ...issues.map((issue) => `  - ${issue.message}`),
        'Flags win over environment variables, then .env.local, then .env, then defaults. Run with --help to list every option.',
      ].join('\n'),
    );
    this.name = 'ConfigError';
    this.issues = Object.freeze(issues.map((issue) => Object.freeze({ ...issue })));
  }
}

/**
 * Two owners (the server, plugins) declare one env var or flag differently. Identical declarations are
 * shared; a different type, constraint, default, secrecy or flag is a clash to resolve in one of them.
 */
export class ConfigClashError extends Error {
  readonly code = 'CONFIG_CLASH';
  constructor(
    /** The env var name or flag both owners declare. */
    readonly key: string,
    readonly owners: readonly [string, string],
    /** What differs, e.g. `default 3000 vs 8080`. */
    readonly difference: string,
  ) {
    super(
      `config ${key} is declared differently by "${owners[0]}" and "${owners[1]}" (${difference}); declare it the same way in both, or rename it in one`,
    );
    this.name = 'ConfigClashError';
  }
}
