/** Debian packages for the tests' real parts (see apt.mjs). */
export function canAptInstall(): boolean;
export function aptInstall<T>(packages: string[], options: { found: () => T | undefined; hint: string }): T;
