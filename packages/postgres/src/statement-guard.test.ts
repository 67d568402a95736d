import { describe, expect, it } from 'vitest';
import { checkStatement } from './statement-guard.js';

describe('checkStatement (PostgreSQL grammar)', () => {
  it.each([
    ['SELECT 1', 'select'],
    ['with x as (select 1) select * from x', 'select'],
    ['VALUES (1)', 'select'],
    ['TABLE t', 'select'],
    ['  (SELECT 1) ; ', 'select'],
    ['EXPLAIN SELECT 1', 'explain'],
    ['SHOW search_path', 'show'],
    ["SELECT 'pg_read_file(''/etc/passwd'')' AS text_not_a_call", 'select'],
    ['SELECT myschema.pg_read_file(1)', 'select'],
  ])('lets %j through as %s', async (sql, kind) => {
    await expect(checkStatement(sql)).resolves.toMatchObject({ kind });
  });

  it('returns the statement alone (no semicolon, no trailing text), by UTF-8 extent', async () => {
    await expect(checkStatement("  SELECT 'Grüße' AS x ; -- done")).resolves.toEqual({
      kind: 'select',
      text: "  SELECT 'Grüße' AS x ",
    });
  });

  it.each([
    "COPY (SELECT 1) TO PROGRAM 'id'",
    "LOAD 'auto_explain'",
    'INSERT INTO t VALUES (1)',
    '/* x */ DELETE FROM t',
    'CALL p()',
    'DO $$ BEGIN END $$',
    'EXPLAIN ANALYZE DELETE FROM t',
    'SELECT 1 INTO t2',
    'SET ROLE postgres',
    'WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d',
  ])('refuses %j as read-only', async (sql) => {
    await expect(checkStatement(sql)).rejects.toMatchObject({
      code: 'READ_ONLY',
      message: expect.stringMatching(/read-only/),
    });
  });

  it('refuses two statements, however hidden', async () => {
    await expect(checkStatement('SELECT 1; /* ; */ SELECT 2')).rejects.toMatchObject({
      code: 'READ_ONLY',
      message: expect.stringMatching(/one statement.*2/),
    });
  });

  it.each([
    ["SELECT pg_read_file('/etc/passwd')", 'server file access'],
    ["SELECT * FROM pg_catalog.pg_ls_dir('/')", 'server file access'],
    ['SELECT lo_import($1)', 'large objects'],
    ['SELECT loread(lo_open(1, 262144), 10)', 'large objects'],
    ["SELECT pg_create_physical_replication_slot('s')", 'replication'],
    ["SELECT * FROM pg_logical_slot_get_changes('s', NULL, NULL)", 'replication'],
    ['SELECT pg_terminate_backend(1)', 'signalling'],
    ['SELECT pg_cancel_backend(1)', 'signalling'],
    ['SELECT pg_reload_conf()', 'configuration'],
    ["SELECT set_config('statement_timeout', '0', false)", 'configuration'],
    ['SELECT pg_switch_wal()', 'WAL'],
    ["SELECT * FROM public.dblink('host=x', 'select 1') AS t(a int)", 'dblink'],
    ["SELECT dblink_exec('delete from t')", 'dblink'],
    ['SELECT ext.postgres_fdw_disconnect_all()', 'postgres_fdw'],
    ['SELECT pg_advisory_lock(1)', 'advisory locks'],
    ['SELECT pg_try_advisory_lock_shared(1)', 'advisory locks'],
    ["SELECT query_to_xml('select pg_read_file(''x'')', true, true, '')", 'from text'],
    ['WITH x AS (SELECT pg_advisory_lock(1)) SELECT * FROM x', 'advisory locks'],
    ['EXPLAIN ANALYZE SELECT pg_advisory_lock(1)', 'advisory locks'],
    ['SELECT 1 WHERE EXISTS (SELECT "pg_catalog"."pg_ls_dir"($1))', 'server file access'],
  ])('refuses %j (%s)', async (sql, family) => {
    await expect(checkStatement(sql)).rejects.toMatchObject({
      code: 'FUNCTION_DENIED',
      message: expect.stringContaining(family),
    });
  });

  it('says where the syntax is wrong, and that an empty text is empty', async () => {
    await expect(checkStatement('SELEC 1')).rejects.toMatchObject({
      code: 'QUERY_FAILED',
      message: expect.stringMatching(/syntax error at or near "SELEC" at character 1/),
    });
    await expect(checkStatement(' -- nothing ')).rejects.toMatchObject({
      code: 'QUERY_FAILED',
      message: expect.stringMatching(/empty/),
    });
  });
});
