import type { SourceDocument } from './corpus.js';
import { makeSnippet, plainText } from './snippet.js';
import { tokenize } from './tokenize.js';

/** Narrows a search; every given filter must hold. */
export interface SearchFilters {
  /** Only documents whose path starts with this. */
  path_prefix?: string;
  /** Only documents dated after this instant. */
  modified_after?: Date;
  /** Only documents carrying every one of these tags (case-insensitive). */
  tags?: readonly string[];
}

export type SortBy = 'relevance' | 'date' | 'title';

export interface SearchOptions {
  limit?: number;
  filters?: SearchFilters;
  sortBy?: SortBy;
}

/** One hit. `score` is the BM25 score (higher is better), rounded to 4 decimals. */
export interface SearchHit {
  title: string;
  path: string;
  snippet: string;
  score: number;
  date: string;
  tags: string[];
}

export interface SearchResults {
  /** How many documents matched, before `limit`. */
  total: number;
  hits: SearchHit[];
}

/** Figures about the index, for dashboards and logs. */
export interface IndexStats {
  documents: number;
  /** Distinct terms. */
  terms: number;
  /** Terms indexed in all (title and body). */
  tokens: number;
  bytes: number;
  averageDocumentTokens: number;
}

interface Entry {
  doc: SourceDocument;
  text: string;
  length: number;
}

/** BM25 constants: the usual values (Robertson & Zaragoza). */
const K1 = 1.2;
const B = 0.75;
/** A title word counts as this many body words. */
const TITLE_WEIGHT = 3;
/** Documents that hold the whole query as written get this factor. */
const PHRASE_BOOST = 1.5;

/**
 * An in-memory BM25 index over documents: term frequencies per document
 * (title words weighted), inverse document frequencies at query time.
 * @example
 * const index = new SearchIndex(documents);
 * index.search('task group', { limit: 5 });
 */
export class SearchIndex {
  readonly #entries: Entry[] = [];
  readonly #postings = new Map<string, Map<number, number>>();
  readonly #byPath = new Map<string, SourceDocument>();
  #tokens = 0;
  #bytes = 0;

  constructor(documents: readonly SourceDocument[]) {
    for (const doc of documents) this.#add(doc);
  }

  #add(doc: SourceDocument): void {
    const id = this.#entries.length;
    const counts = new Map<string, number>();
    const titleTerms = tokenize(doc.title);
    const bodyTerms = tokenize(doc.body);
    for (const term of titleTerms) counts.set(term, (counts.get(term) ?? 0) + TITLE_WEIGHT);
    for (const term of bodyTerms) counts.set(term, (counts.get(term) ?? 0) + 1);
    for (const [term, count] of counts) {
      let posting = this.#postings.get(term);
      if (!posting) this.#postings.set(term, (posting = new Map()));
      posting.set(id, count);
    }
    const length = titleTerms.length * TITLE_WEIGHT + bodyTerms.length;
    this.#entries.push({ doc, text: plainText(doc.body), length });
    this.#byPath.set(doc.path, doc);
    this.#tokens += titleTerms.length + bodyTerms.length;
    this.#bytes += doc.bytes;
  }

  /** The document at an indexed path. */
  document(path: string): SourceDocument | undefined {
    return this.#byPath.get(path);
  }

  /** Every indexed path, in order. */
  paths(): string[] {
    return this.#entries.map((e) => e.doc.path);
  }

  stats(): IndexStats {
    const documents = this.#entries.length;
    return {
      documents,
      terms: this.#postings.size,
      tokens: this.#tokens,
      bytes: this.#bytes,
      averageDocumentTokens: documents === 0 ? 0 : Math.round(this.#tokens / documents),
    };
  }

  /** Documents matching at least one query term, scored, filtered, sorted and cut to `limit`. */
  search(query: string, options: SearchOptions = {}): SearchResults {
    const { limit = 10, filters, sortBy = 'relevance' } = options;
    const terms = [...new Set(tokenize(query))];
    if (terms.length === 0 || this.#entries.length === 0) return { total: 0, hits: [] };
    const n = this.#entries.length;
    const averageLength = this.#entries.reduce((sum, e) => sum + e.length, 0) / n || 1;
    const scores = new Map<number, number>();
    for (const term of terms) {
      const posting = this.#postings.get(term);
      if (!posting) continue;
      const idf = Math.log(1 + (n - posting.size + 0.5) / (posting.size + 0.5));
      for (const [id, tf] of posting) {
        const entry = this.#entries[id]!;
        if (!passes(entry.doc, filters)) continue;
        const norm = tf + K1 * (1 - B + (B * entry.length) / averageLength);
        scores.set(id, (scores.get(id) ?? 0) + (idf * (tf * (K1 + 1))) / norm);
      }
    }
    const phrase = terms.length > 1 ? query.toLowerCase() : undefined;
    const ranked = [...scores].map(([id, score]) => {
      const entry = this.#entries[id]!;
      const boosted = phrase && entry.text.toLowerCase().includes(phrase) ? score * PHRASE_BOOST : score;
      return { entry, score: boosted };
    });
    ranked.sort(comparator(sortBy));
    const termSet = new Set(terms);
    return {
      total: ranked.length,
      hits: ranked.slice(0, limit).map(({ entry, score }) => ({
        title: entry.doc.title,
        path: entry.doc.path,
        snippet: makeSnippet(entry.text, termSet),
        score: Math.round(score * 10_000) / 10_000,
        date: entry.doc.date.toISOString(),
        tags: entry.doc.tags,
      })),
    };
  }
}

function passes(doc: SourceDocument, filters: SearchFilters | undefined): boolean {
  if (!filters) return true;
  if (filters.path_prefix !== undefined && !doc.path.startsWith(filters.path_prefix)) return false;
  if (filters.modified_after !== undefined && !(doc.date > filters.modified_after)) return false;
  if (filters.tags?.length && !filters.tags.every((tag) => doc.tags.includes(tag.toLowerCase()))) return false;
  return true;
}

type Ranked = { entry: Entry; score: number };

function comparator(sortBy: SortBy): (a: Ranked, b: Ranked) => number {
  const byScore = (a: Ranked, b: Ranked) => b.score - a.score || a.entry.doc.path.localeCompare(b.entry.doc.path);
  if (sortBy === 'date') return (a, b) => b.entry.doc.date.getTime() - a.entry.doc.date.getTime() || byScore(a, b);
  if (sortBy === 'title') return (a, b) => a.entry.doc.title.localeCompare(b.entry.doc.title) || byScore(a, b);
  return byScore;
}
