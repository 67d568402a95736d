import type { ServerEvent } from '@modelcontextprotocol/server';

/** A change clients may want to hear about. */
export type ServerChange =
  | { kind: 'tools' | 'prompts' | 'resources' }
  | { kind: 'resource-updated'; uri: string; subscribers: readonly string[] };

/** A change as the bus carries it, for this process's listeners (`subscribers`: who here subscribed to the resource). */
export function changeOfEvent(event: ServerEvent, subscribers: (uri: string) => readonly string[]): ServerChange {
  return event.kind === 'resource_updated'
    ? { kind: 'resource-updated', uri: event.uri, subscribers: subscribers(event.uri) }
    : {
        kind:
          event.kind === 'tools_list_changed'
            ? 'tools'
            : event.kind === 'prompts_list_changed'
              ? 'prompts'
              : 'resources',
      };
}

/** An older-protocol notification, as a session's GET stream carries it. */
export interface ChangeNotification {
  readonly method: string;
  readonly params?: { uri: string };
}

/**
 * What an older-protocol session hears of a change: a list change always, a
 * resource update when it subscribed to the resource. The one mapping for live
 * notifications and for those a fleet replays on a resumed GET stream.
 */
export function legacyChangeNotification(
  change: ServerChange,
  subscribed: (uri: string) => boolean,
): ChangeNotification | undefined {
  if (change.kind === 'resource-updated')
    return subscribed(change.uri)
      ? { method: 'notifications/resources/updated', params: { uri: change.uri } }
      : undefined;
  return { method: `notifications/${change.kind}/list_changed` };
}
