/** A change clients may want to hear about. */
export type ServerChange =
  | { kind: 'tools' | 'prompts' | 'resources' }
  | { kind: 'resource-updated'; uri: string; subscribers: readonly string[] };
