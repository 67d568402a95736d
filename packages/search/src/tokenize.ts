/**
 * Words so common in English prose and docs that they say nothing about a
 * document; dropping them keeps scores about the words that matter.
 */
const STOP_WORDS = new Set(
  (
    'a an and are as at be but by for from has have if in into is it its of on or so such that the their then there these they this to was were will with ' +
    'you your we our can not no do does how what when where which who why'
  ).split(' '),
);

/** Letters and digits of any script, with inner apostrophes, dots or hyphens kept out (they split words). */
const WORD = /[\p{L}\p{N}]+/gu;

/**
 * A light suffix stripper (plural, -ing, -ed, -ly): enough that "servers",
 * "serving" and "served" meet "server" often, without a stemmer's surprises.
 * Short words are left alone.
 */
export function stem(word: string): string {
  if (word.length <= 3 || /\d/.test(word)) return word;
  if (word.endsWith('ies') && word.length > 4) return `${word.slice(0, -3)}y`;
  if (word.endsWith('sses')) return word.slice(0, -2);
  if (word.endsWith('ing') && word.length > 5) return undouble(word.slice(0, -3));
  if (word.endsWith('ed') && word.length > 4) return undouble(word.slice(0, -2));
  if (word.endsWith('ly') && word.length > 4) return word.slice(0, -2);
  if (word.endsWith('es') && /(x|ch|sh|ss|z)es$/.test(word)) return word.slice(0, -2);
  if (word.endsWith('s') && !word.endsWith('ss') && !word.endsWith('us') && !word.endsWith('is')) return word.slice(0, -1);
  return word;
}

function undouble(word: string): string {
  return /([^aeiouls])\1$/.test(word) ? word.slice(0, -1) : word;
}

/**
 * Splits text into index terms: lower-cased (Unicode-aware), accents folded,
 * camelCase and snake_case split, stop words dropped, lightly stemmed.
 * @example tokenize('Serving MCP servers') // ['serv', 'mcp', 'server']
 */
export function tokenize(text: string): string[] {
  const terms: string[] = [];
  const spaced = text.replace(/([\p{Ll}\p{N}])(\p{Lu})/gu, '$1 $2');
  for (const match of spaced.normalize('NFKD').replace(/\p{M}+/gu, '').toLowerCase().matchAll(WORD)) {
    const word = match[0];
    if (word.length > 64 || STOP_WORDS.has(word)) continue;
    terms.push(stem(word));
  }
  return terms;
}
