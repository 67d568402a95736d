#!/usr/bin/env node
// Headless Chromium for tests, from Debian's `chromium` package (the browser builds that npm
// packages download cannot be fetched here). Driven with playwright-core's `executablePath`.
// As a module:  const options = await chromiumLaunchOptions(); const browser = await chromium.launch(options);
// As a command: node tools/chromium.mjs   (installs when missing, prints the executable's path)
// As root (CI, the development machines) a missing browser is installed with apt-get.
import { fileURLToPath } from 'node:url';
import { aptInstall, findExecutable } from './apt.mjs';

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/lib/chromium/chromium'];

/** The Chromium executable: CHROMIUM_PATH when set, else Debian's; undefined when none is installed. */
export function findChromium() {
  return findExecutable('CHROMIUM_PATH', CANDIDATES);
}

/**
 * The Chromium executable, installed from Debian's packages first when missing (as root).
 * Throws, saying what to do, when it is missing and cannot be installed.
 */
export function ensureChromium() {
  return aptInstall(['chromium'], {
    found: findChromium,
    hint: 'run `apt-get install chromium` as root (Debian), or set CHROMIUM_PATH',
  });
}

/**
 * Flags for a quiet, self-contained browser: nothing phones home (background
 * networking, component updates, sync), no first-run UI; `--no-sandbox` as root,
 * where Chromium refuses to start otherwise.
 */
export function chromiumArgs() {
  return [
    ...(process.getuid?.() === 0 ? ['--no-sandbox'] : []),
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--disable-default-apps',
    '--disable-extensions',
    '--no-first-run',
    '--no-default-browser-check',
    '--disable-dev-shm-usage',
  ];
}

/** Options for playwright-core's `chromium.launch()`: Debian's browser (installed when missing), headless, with `chromiumArgs()`. */
export async function chromiumLaunchOptions() {
  return { executablePath: ensureChromium(), headless: true, args: chromiumArgs() };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    process.stdout.write(`${ensureChromium()}\n`);
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
}
