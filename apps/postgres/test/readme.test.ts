import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ALLOW_PRIVILEGED_ROLE_SETTING, PRIVILEGED_ROLES, safeRoleSql } from '@trellis/postgres';
import { describe, expect, it } from 'vitest';

const readme = readFileSync(join(import.meta.dirname, '..', 'README.md'), 'utf8');

describe('README', () => {
  it('shows exactly the role SQL the tests and the embedded database run (safeRoleSql)', () => {
    const block = /### The role to connect as[\s\S]*?```sql\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(block?.trim()).toBe(safeRoleSql({ password: 'choose-a-password', database: 'shop' }));
  });

  it('names every refused membership and the override', () => {
    for (const role of PRIVILEGED_ROLES) expect(readme).toContain(`\`${role}\``);
    expect(readme).toContain(`${ALLOW_PRIVILEGED_ROLE_SETTING}=true`);
  });
});
