/** What a secret value is replaced with wherever configuration is shown. */
export const REDACTED = '[redacted]';

// Whole words (split on `_`, `-`, `.` and camelCase) that mark a key as secret. `KEY` is matched only as
// a word so that MONKEY or KEYBOARD_LAYOUT stay visible; the others also match as the end of a compound
// word (ACCESSTOKEN, CLIENTSECRET, DBPASSWORD), which TOKENIZER or SECRETARY are not.
const SECRET_WORDS = new Set([
  'KEY',
  'KEYS',
  'APIKEY',
  'APIKEYS',
  'PRIVATEKEY',
  'PASSWD',
  'PASSPHRASE',
  'CREDENTIAL',
  'CREDENTIALS',
]);
const SECRET_ENDINGS = /(TOKEN|SECRET|PASSWORD)S?$/;

/**
 * Whether a key names a secret by default: one of its words is TOKEN, SECRET, PASSWORD, KEY (or a close
 * variant such as APIKEY, PASSWD, CREDENTIALS). A field's `.meta({ secret })` overrides this either way.
 *
 * @example
 * isSecretKey('API_KEY'); // true
 * isSecretKey('GITHUB_TOKEN'); // true
 * isSecretKey('MONKEY_COUNT'); // false
 */
export function isSecretKey(key: string): boolean {
  const words = key
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toUpperCase()
    .split(/[^A-Z0-9]+/);
  return words.some((word) => SECRET_WORDS.has(word) || SECRET_ENDINGS.test(word));
}

// `scheme://user:` then everything up to the LAST `@` before whitespace: a password may itself hold `@`,
// `/` or `:`, and masking too much is safe where masking too little is not.
const URL_PASSWORD = /\b([a-z][a-z0-9+.-]*:\/\/[^\s:@/?#]*):\S*@/gi;

/**
 * Masks the password part of every URL in a text.
 *
 * @example
 * maskUrlPasswords('postgres://app:hunter2@db:5432/app'); // 'postgres://app:***@db:5432/app'
 */
export function maskUrlPasswords(text: string): string {
  return text.replace(URL_PASSWORD, '$1:***@');
}
