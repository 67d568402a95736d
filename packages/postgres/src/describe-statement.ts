import type pg from 'pg';

interface ProtocolConnection {
  parse(query: { text: string }, more: boolean): void;
  describe(target: { type: 'S' | 'P'; name: string }, more: boolean): void;
  sync(): void;
}

/**
 * The columns a statement would return, from PostgreSQL's parse analysis only
 * (protocol Parse + Describe of the statement, then Sync): nothing is planned
 * or run, so a costly constant such as `repeat('x', 600000000)` is never
 * computed. A `pg` submittable, queued like any query on the client.
 */
class StatementDescription implements pg.Submittable {
  #fields: pg.FieldDef[] = [];
  readonly #text: string;
  readonly #settle: (error: Error | undefined, fields: pg.FieldDef[]) => void;

  constructor(text: string, settle: (error: Error | undefined, fields: pg.FieldDef[]) => void) {
    this.#text = text;
    this.#settle = settle;
  }

  submit(connection: unknown): void {
    const con = connection as ProtocolConnection;
    con.parse({ text: this.#text }, true);
    con.describe({ type: 'S', name: '' }, true);
    con.sync();
  }

  handleRowDescription(message: { fields: pg.FieldDef[] }): void {
    this.#fields = message.fields;
  }

  handleError(error: Error): void {
    // The client lets go of a query on its error: the ReadyForQuery that follows (Sync was sent) no longer reaches it.
    this.#settle(error, []);
  }

  handleReadyForQuery(): void {
    this.#settle(undefined, this.#fields);
  }

  // The client calls these for messages that do not come after Parse + Describe; nothing to do.
  handleDataRow(): void {}
  handleCommandComplete(): void {}
  handleEmptyQuery(): void {}
  handlePortalSuspended(): void {}
}

/** Describes `text`'s result columns without running it. */
export function describeStatement(client: pg.ClientBase, text: string): Promise<pg.FieldDef[]> {
  return new Promise((resolve, reject) => {
    let settled = false;
    void client.query(
      new StatementDescription(text, (error, fields) => {
        if (settled) return;
        settled = true;
        if (error) reject(error);
        else resolve(fields);
      }),
    );
  });
}
