import { spawnSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { chromiumArgs, chromiumLaunchOptions, findChromium } from '../chromium.mjs';

describe('headless Chromium for tests', () => {
  const saved = process.env.CHROMIUM_PATH;
  afterEach(() => {
    if (saved === undefined) delete process.env.CHROMIUM_PATH;
    else process.env.CHROMIUM_PATH = saved;
  });

  it('finds (installing when missing, as root) a Chromium that runs headless, with flags that keep it quiet', async () => {
    const options = await chromiumLaunchOptions();
    expect(options.headless).toBe(true);
    const version = spawnSync(options.executablePath, ['--version'], { encoding: 'utf8' });
    expect(version.stdout).toMatch(/Chromium \d+/);
    expect(options.args).toEqual(
      expect.arrayContaining([
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ]),
    );
    expect(chromiumArgs().includes('--no-sandbox')).toBe(process.getuid?.() === 0);
  }, 600_000);

  it('takes CHROMIUM_PATH when set, and names a wrong one', () => {
    process.env.CHROMIUM_PATH = '/nonexistent/chromium';
    expect(() => findChromium()).toThrow(/CHROMIUM_PATH=\/nonexistent\/chromium is not an executable file/);
  });
});
