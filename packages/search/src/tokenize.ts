import { stemmer as porterStem } from 'stemmer';

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
 * The Porter stemmer (the `stemmer` package): "tomatoes" meets "tomato", "servers" and
 * "serving" meet "server", as a search user expects. Words with digits are left alone
 * (version numbers, ids), and so are words of three letters or fewer ("bus", "gas").
 */
export function stem(word: string): string {
  if (word.length <= 3 || /\d/.test(word)) return word;
  return porterStem(word);
}

/**
 * Splits text into index terms: lower-cased (Unicode-aware), accents folded,
 * camelCase and snake_case split, stop words dropped, stemmed.
 * @example tokenize('Serving MCP servers') // ['serv', 'mcp', 'server']
 */
export function tokenize(text: string): string[] {
  const terms: string[] = [];
  const spaced = text.replace(/([\p{Ll}\p{N}])(\p{Lu})/gu, '$1 $2');
  for (const match of spaced
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase()
    .matchAll(WORD)) {
    const word = match[0];
    if (word.length > 64 || STOP_WORDS.has(word)) continue;
    terms.push(stem(word));
  }
  return terms;
}
