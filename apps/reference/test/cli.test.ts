import { runBundle } from '@trellis/testing/apps';
import { describe, expect, it } from 'vitest';
import { BUNDLE } from './helpers.js';

describe('the command line', () => {
  it('--help lists every flag and variable, and exits 0 without serving', () => {
    const { status, stdout } = runBundle(BUNDLE, ['--help']);
    expect(status).toBe(0);
    for (const flag of [
      '--transport',
      '--port',
      '--host',
      '--log-level',
      '--files-root',
      '--files-max-bytes',
      '--search-paths',
      '--search-max-file-bytes',
    ]) {
      expect(stdout).toContain(flag);
    }
    for (const variable of [
      'TRELLIS_TRANSPORT',
      'PORT',
      'HOST',
      'LOG_LEVEL',
      'FILES_ROOT',
      'FILES_MAX_BYTES',
      'SEARCH_PATHS',
      'REQUEST_STATE_SECRET',
    ]) {
      expect(stdout).toContain(`env ${variable}`);
    }
  });

  it('refuses two bad variables at once: exit 2, both named on stderr, nothing on stdout', () => {
    const { status, stdout, stderr } = runBundle(BUNDLE, [], { FILES_MAX_BYTES: 'lots', SEARCH_MAX_FILE_BYTES: '-3' });
    expect(status).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/FILES_MAX_BYTES/);
    expect(stderr).toMatch(/SEARCH_MAX_FILE_BYTES/);
  });

  it('refuses a FILES_ROOT that does not exist, naming it', () => {
    const { status, stdout, stderr } = runBundle(BUNDLE, [], {
      FILES_ROOT: '/nonexistent/trellis-samples',
      LOG_LEVEL: 'silent',
    });
    expect(status).not.toBe(0);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/FILES_ROOT: root "\/nonexistent\/trellis-samples" does not exist/);
  });
});
