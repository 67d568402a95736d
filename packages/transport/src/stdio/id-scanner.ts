const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const COMMA = 0x2c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const MAX_ID_BYTES = 256;

/**
 * Finds the top-level `"id"` of a JSON-RPC message while its bytes stream past,
 * keeping nothing but the id itself. Used for messages too large to buffer, so
 * the refusal can still name the request it answers (clients match responses
 * by id; an `id: null` error would leave the request hanging until it times out).
 */
export class TopLevelIdScanner {
  #depth = 0;
  #inString = false;
  #escape = false;
  #expectKey = false;
  #key: number[] | undefined;
  #lastKeyIsId = false;
  #value: number[] | undefined;
  #done = false;
  #id: string | number | null = null;

  /** The id found so far: a string or number, else null. */
  get id(): string | number | null {
    return this.#id;
  }

  feed(bytes: Uint8Array, start = 0, end = bytes.length): void {
    for (let i = start; i < end && !this.#done; i++) this.#step(bytes[i]!);
  }

  #step(b: number): void {
    if (this.#value) {
      if (!this.#inString && this.#depth === 1 && (b === COMMA || b === CLOSE_OBJECT)) {
        this.#finishValue();
        return;
      }
      if (this.#value.length >= MAX_ID_BYTES) {
        this.#done = true;
        return;
      }
      this.#value.push(b);
    }
    if (this.#inString) {
      if (this.#escape) this.#escape = false;
      else if (b === BACKSLASH) this.#escape = true;
      else if (b === QUOTE) {
        this.#inString = false;
        if (this.#key) {
          this.#lastKeyIsId = this.#key.length === 2 && this.#key[0] === 0x69 && this.#key[1] === 0x64;
          this.#key = undefined;
        }
        return;
      }
      if (this.#key && this.#key.length < 3) this.#key.push(b);
      return;
    }
    switch (b) {
      case QUOTE:
        this.#inString = true;
        if (this.#depth === 1 && this.#expectKey) this.#key = [];
        return;
      case OPEN_OBJECT:
      case OPEN_ARRAY:
        if (this.#depth === 0 && b !== OPEN_OBJECT) this.#done = true;
        this.#depth++;
        if (this.#depth === 1) this.#expectKey = true;
        return;
      case CLOSE_OBJECT:
      case CLOSE_ARRAY:
        this.#depth--;
        if (this.#depth <= 0) this.#done = true;
        return;
      case COLON:
        if (this.#depth === 1) {
          this.#expectKey = false;
          if (this.#lastKeyIsId) this.#value = [];
        }
        return;
      case COMMA:
        if (this.#depth === 1) this.#expectKey = true;
        return;
    }
  }

  #finishValue(): void {
    const text = Buffer.from(this.#value!).toString('utf8');
    this.#value = undefined;
    this.#done = true;
    try {
      const id: unknown = JSON.parse(text);
      if (typeof id === 'string' || (typeof id === 'number' && Number.isSafeInteger(id))) this.#id = id;
    } catch {
      // Not a usable id: the refusal goes out with id null.
    }
  }
}
