// `trellis install`: writes an app's entry into a desktop client's MCP
// configuration (stdio: the client starts `node apps/<app>/dist/main.js`).
// Edits go through jsonc-parser, the parser VS Code itself uses, so comments,
// formatting and every other entry of the file stay as they were, byte for byte.
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, posix, win32 } from 'node:path';
import { applyEdits, format, modify, parse, printParseErrorCode } from 'jsonc-parser';
import { CliError } from './workspace.mjs';

/** The clients `trellis install --client` knows, and the key their file keeps servers under. */
export const CLIENTS = /** @type {const} */ ({
  'claude-desktop': { serversKey: 'mcpServers', label: 'Claude Desktop' },
  cursor: { serversKey: 'mcpServers', label: 'Cursor' },
  vscode: { serversKey: 'servers', label: 'VS Code' },
});

/**
 * Where a client reads its user-level MCP configuration on each platform:
 * Claude Desktop's `claude_desktop_config.json`, Cursor's `~/.cursor/mcp.json`,
 * VS Code's user `mcp.json` (beside its settings.json).
 * @param {keyof typeof CLIENTS} client
 * @param {{ platform?: NodeJS.Platform, env?: Record<string, string | undefined>, home?: string }} [where]
 */
export function clientConfigPath(client, { platform = process.platform, env = process.env, home = homedir() } = {}) {
  const path = platform === 'win32' ? win32 : posix;
  // %APPDATA% on Windows, ~/Library/Application Support on macOS, $XDG_CONFIG_HOME (~/.config) elsewhere.
  const appData =
    platform === 'win32'
      ? (env.APPDATA ?? path.join(home, 'AppData', 'Roaming'))
      : platform === 'darwin'
        ? path.join(home, 'Library', 'Application Support')
        : env.XDG_CONFIG_HOME || path.join(home, '.config');
  switch (client) {
    case 'claude-desktop':
      return path.join(appData, 'Claude', 'claude_desktop_config.json');
    case 'cursor':
      return path.join(home, '.cursor', 'mcp.json');
    case 'vscode':
      return path.join(appData, 'Code', 'User', 'mcp.json');
    default:
      throw new CliError(
        'USAGE',
        `--client must be one of ${Object.keys(CLIENTS).join(', ')} (got ${JSON.stringify(client)})`,
      );
  }
}

/**
 * The entry a client needs to start a bundle over stdio. The absolute path of
 * this Node is used because desktop clients start servers with a minimal PATH.
 * @param {keyof typeof CLIENTS} client
 * @param {{ bundle: string, node?: string, env?: Record<string, string> }} server
 */
export function stdioEntry(client, { bundle, node = process.execPath, env = {} }) {
  const entry = { command: node, args: [bundle], ...(Object.keys(env).length > 0 && { env }) };
  return client === 'vscode' ? { type: 'stdio', ...entry } : entry;
}

/** The file's own indentation (first indented line), so what is added looks like what was there. */
function indentationOf(text) {
  const indent = /^([ \t]+)\S/m.exec(text)?.[1];
  if (!indent) return { insertSpaces: true, tabSize: 2 };
  return indent.startsWith('\t') ? { insertSpaces: false, tabSize: 1 } : { insertSpaces: true, tabSize: indent.length };
}

/**
 * Sets `path` to `value` and lays out only the text that changed: jsonc-parser's
 * own formatting of an edit reflows the whole lines it touches, which would
 * rewrite a neighbouring entry written on one line. An empty object the value
 * lands in is laid out whole (it holds nothing else).
 */
function setValue(source, path, value, eol) {
  const options = { ...indentationOf(source), eol };
  let text = source;
  for (const edit of modify(source, path, value, {})) {
    text = applyEdits(text, [edit]);
    let start = edit.offset;
    let end = edit.offset + edit.content.length;
    let before = start;
    while (before > 0 && /\s/.test(text[before - 1])) before -= 1;
    let after = end;
    while (after < text.length && /\s/.test(text[after])) after += 1;
    if (text[before - 1] === '{' && text[after] === '}') [start, end] = [before - 1, after + 1];
    const layout = format(text, { offset: start, length: end - start }, options).filter(
      (e) => e.offset >= start && e.offset + e.length <= end,
    );
    text = applyEdits(text, layout);
  }
  return text;
}

/**
 * Puts `entry` under the client's servers key as `name` in the file at
 * `file`, keeping everything else. With `dryRun` nothing is written. An
 * existing file is copied to `<file>.<timestamp>.bak` first; the new text is
 * written beside it and renamed into place.
 * @param {{ client: keyof typeof CLIENTS, file: string, name: string, entry: object, dryRun?: boolean, now?: Date }} options
 * @returns {{ file: string, text: string, action: 'added' | 'replaced' | 'unchanged', backup?: string }}
 */
export function writeClientEntry({ client, file, name, entry, dryRun = false, now = new Date() }) {
  const { serversKey } = CLIENTS[client];
  const existed = existsSync(file);
  const before = existed ? readFileSync(file, 'utf8') : '';
  const source = before.trim() === '' ? '{}' : before;
  /** @type {import('jsonc-parser').ParseError[]} */
  const errors = [];
  const parsed = parse(source, errors, { allowTrailingComma: true, disallowComments: false });
  if (errors.length > 0) {
    const first = errors[0];
    throw new CliError(
      'FAILED',
      `${file} is not valid JSON (${printParseErrorCode(first.error)} at offset ${first.offset}); fix it or pass --config <another file>; nothing was changed`,
    );
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new CliError('FAILED', `${file} does not hold a JSON object; nothing was changed`);
  const servers = parsed[serversKey];
  if (servers !== undefined && (typeof servers !== 'object' || servers === null || Array.isArray(servers))) {
    throw new CliError('FAILED', `"${serversKey}" in ${file} is not an object; nothing was changed`);
  }
  const previous = servers?.[name];
  const eol = before.includes('\r\n') ? '\r\n' : '\n';
  let text = setValue(source, [serversKey, name], entry, eol);
  if (!text.endsWith(eol)) text += eol;
  const action =
    previous === undefined ? 'added' : JSON.stringify(previous) === JSON.stringify(entry) ? 'unchanged' : 'replaced';
  if (dryRun || action === 'unchanged') return { file, text, action };

  mkdirSync(dirname(file), { recursive: true });
  let backup;
  if (existed) {
    backup = `${file}.${now.toISOString().replace(/[:.]/g, '-')}.bak`;
    copyFileSync(file, backup);
  }
  const staging = `${file}.${process.pid}.tmp`;
  writeFileSync(staging, text);
  renameSync(staging, file);
  return { file, text, action, ...(backup && { backup }) };
}
