import { stem } from './tokenize.js';

/** Markdown reduced to readable prose: no fences, heading marks, emphasis, link targets or HTML tags. */
export function plainText(markdown: string): string {
  return markdown
    .replace(/^\s*(```|~~~).*$/gm, ' ')
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/<[^>]+>/g, ' ')
    .replace(/^\s{0,3}(#{1,6}|>|[-*+]|\d+\.)\s+/gm, '')
    .replace(/[*_`|]+/g, '')
    .replace(/\s+/g, ' ')
    .trim();
}

const WORD = /[\p{L}\p{N}]+/gu;

/**
 * The passage of `text` (about `maxChars` long) that holds the most distinct
 * query terms, cut at word boundaries, with `…` where text was left out.
 */
export function makeSnippet(text: string, terms: ReadonlySet<string>, maxChars = 220): string {
  if (text.length <= maxChars) return text;
  const hits: { at: number; term: string }[] = [];
  for (const match of text.matchAll(WORD)) {
    const term = stem(
      match[0]
        .normalize('NFKD')
        .replace(/\p{M}+/gu, '')
        .toLowerCase(),
    );
    if (terms.has(term)) hits.push({ at: match.index, term });
  }
  let start = 0;
  let best = -1;
  for (let i = 0; i < hits.length; i += 1) {
    const seen = new Set<string>();
    for (let j = i; j < hits.length && hits[j]!.at - hits[i]!.at < maxChars * 0.7; j += 1) seen.add(hits[j]!.term);
    if (seen.size > best) {
      best = seen.size;
      start = hits[i]!.at;
    }
  }
  // Show a little of what comes before the first hit, starting at a word.
  let from = Math.max(0, start - Math.floor(maxChars * 0.2));
  if (from > 0) {
    const space = text.indexOf(' ', from);
    from = space === -1 || space > start ? from : space + 1;
  }
  let to = Math.min(text.length, from + maxChars);
  if (to < text.length) {
    const space = text.lastIndexOf(' ', to);
    if (space > from + maxChars / 2) to = space;
  }
  return `${from > 0 ? '…' : ''}${text.slice(from, to).trim()}${to < text.length ? '…' : ''}`;
}
