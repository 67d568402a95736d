import { describe, expect, it } from 'vitest';
import { assertReadingStatement, firstKeyword } from './statement-guard.js';

describe('firstKeyword', () => {
  it.each([
    ['select 1', 'SELECT'],
    ['  \n\t(SELECT 1)', 'SELECT'],
    ['-- note\nWITH x AS (SELECT 1) SELECT * FROM x', 'WITH'],
    ['/* a /* nested */ comment */ copy t TO STDOUT', 'COPY'],
    ['/* unterminated', undefined],
    ['-- only a comment', undefined],
    ['', undefined],
  ])('%j → %s', (sql, keyword) => {
    expect(firstKeyword(sql)).toBe(keyword);
  });
});

describe('assertReadingStatement', () => {
  it.each(['SELECT 1', 'with x as (select 1) select * from x', 'VALUES (1)', 'TABLE t', 'EXPLAIN SELECT 1', 'SHOW search_path'])('lets %j through', (sql) => {
    expect(() => assertReadingStatement(sql)).not.toThrow();
  });

  it.each(["COPY (SELECT 1) TO PROGRAM 'id'", "LOAD 'auto_explain'", 'INSERT INTO t VALUES (1)', '/* x */ DELETE FROM t', 'CALL p()', 'DO $$ BEGIN END $$'])('refuses %j as read-only', (sql) => {
    expect(() => assertReadingStatement(sql)).toThrow(expect.objectContaining({ code: 'READ_ONLY', message: expect.stringMatching(/read-only/) }));
  });

  it('says an empty statement is empty', () => {
    expect(() => assertReadingStatement(' -- nothing ')).toThrow(expect.objectContaining({ code: 'QUERY_FAILED' }));
  });
});
