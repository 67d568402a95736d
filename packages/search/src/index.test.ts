import { describe, expect, it } from 'vitest';
import { SearchIndex } from './bm25.js';
import { parseDocument } from './corpus.js';
import { makeSnippet } from './snippet.js';
import { stem, tokenize } from './tokenize.js';

const doc = (path: string, text: string, date = '2025-01-01') =>
  parseDocument(path, `/corpus/${path}`, text, new Date(`${date}T00:00:00Z`), text.length);

describe('tokenize', () => {
  it('lower-cases, splits camelCase and snake_case, folds accents and drops stop words', () => {
    expect(tokenize('The TaskGroup of café_owners')).toEqual(['task', 'group', 'cafe', 'owner']);
  });

  it('stems plurals and -ing/-ed forms (Porter), so "tomato" meets "Tomatoes"', () => {
    expect(['servers', 'queries', 'running', 'stopped', 'boxes'].map(stem)).toEqual([
      'server',
      'queri',
      'run',
      'stop',
      'box',
    ]);
    expect(stem('tomatoes')).toBe(stem('tomato'));
    expect(stem('bus')).toBe('bus');
    expect(stem('v2')).toBe('v2');
  });
});

describe('parseDocument', () => {
  it('reads front matter title, date and tags (inline and block lists)', () => {
    const inline = doc('a.md', '---\ntitle: "Hello"\ndate: 2026-02-03\ntags: [One, two]\n---\nbody');
    expect(inline).toMatchObject({ title: 'Hello', tags: ['one', 'two'], body: 'body' });
    expect(inline.date.toISOString()).toBe('2026-02-03T00:00:00.000Z');
    expect(doc('b.md', '---\ntags:\n  - x\n  - y\n---\n# Heading\ntext').tags).toEqual(['x', 'y']);
  });

  it('falls back to the first heading, then the file name, and to the file date', () => {
    expect(doc('dir/b.md', 'intro\n# The Heading #\ntext').title).toBe('The Heading');
    const plain = doc('dir/plain-notes.txt', 'no heading here', '2024-05-06');
    expect(plain.title).toBe('plain-notes');
    expect(plain.date.toISOString()).toBe('2024-05-06T00:00:00.000Z');
  });
});

describe('SearchIndex', () => {
  const index = new SearchIndex([
    doc('a.md', '# Semaphores\n\nLimit concurrency with a semaphore.', '2025-03-01'),
    doc(
      'b.md',
      '# Notes\n\nSometimes a semaphore appears in passing, among many other words about other things entirely.',
      '2026-01-01',
    ),
    doc('c.md', '---\ntags: [zoo]\n---\n# Zebras\n\nStripes everywhere.', '2024-01-01'),
  ]);

  it('ranks a title match above a passing mention and skips documents without any term', () => {
    const { total, hits } = index.search('semaphore');
    expect(total).toBe(2);
    expect(hits.map((h) => h.path)).toEqual(['a.md', 'b.md']);
    expect(hits[0]!.score).toBeGreaterThan(hits[1]!.score);
  });

  it('sorts by date or title, filters by prefix, date and tags, and honours limit', () => {
    expect(index.search('semaphore', { sortBy: 'date' }).hits.map((h) => h.path)).toEqual(['b.md', 'a.md']);
    expect(index.search('semaphore', { sortBy: 'title' }).hits.map((h) => h.title)).toEqual(['Notes', 'Semaphores']);
    expect(index.search('semaphore', { filters: { path_prefix: 'b' } }).hits.map((h) => h.path)).toEqual(['b.md']);
    expect(index.search('semaphore', { filters: { modified_after: new Date('2025-06-01') } }).total).toBe(1);
    expect(index.search('stripes', { filters: { tags: ['ZOO'] } }).total).toBe(1);
    expect(index.search('stripes', { filters: { tags: ['zoo', 'other'] } }).total).toBe(0);
    expect(index.search('semaphore', { limit: 1 })).toMatchObject({ total: 2, hits: [{ path: 'a.md' }] });
  });

  it('finds "tomato" in a document about "Tomatoes"', () => {
    const veg = new SearchIndex([
      doc('t.md', '# Tomatoes\n\nGrowing tomatoes in pots.'),
      doc('p.md', '# Potatoes\n\nNothing red.'),
    ]);
    expect(veg.search('tomato').hits.map((h) => h.path)).toEqual(['t.md']);
  });

  it('answers nothing for a query of stop words only', () => {
    expect(index.search('the of and')).toEqual({ total: 0, hits: [] });
  });

  it('reports statistics', () => {
    expect(index.stats()).toMatchObject({ documents: 3 });
    expect(index.stats().terms).toBeGreaterThan(5);
  });
});

describe('makeSnippet', () => {
  it('centres on the passage with the most query terms and marks the cuts', () => {
    const text = `${'filler words here. '.repeat(30)}The semaphore limits tasks. ${'more filler text. '.repeat(30)}`;
    const snippet = makeSnippet(text, new Set(['semaphore', 'task']), 120);
    expect(snippet).toContain('The semaphore limits tasks.');
    expect(snippet.startsWith('…')).toBe(true);
    expect(snippet.endsWith('…')).toBe(true);
    expect(snippet.length).toBeLessThanOrEqual(124);
  });
});
