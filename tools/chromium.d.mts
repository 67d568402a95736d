/** Debian's Chromium for tests (see chromium.mjs). */
export function findChromium(): string | undefined;
export function ensureChromium(): string;
export function chromiumArgs(): string[];
export function chromiumLaunchOptions(): Promise<{ executablePath: string; headless: true; args: string[] }>;
