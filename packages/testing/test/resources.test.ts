import { definePlugin, type TrellisServer } from '@trellis/server';
import { afterEach, describe, expect, it } from 'vitest';
import { ERAS, startServer, withClient } from './helpers.js';

let running: TrellisServer | undefined;
afterEach(async () => {
  await running?.close({ graceMs: 100 });
  running = undefined;
});

const notes = () =>
  definePlugin({
    name: 'notes',
    setup(scope) {
      const store = new Map([
        ['alpha', 'first note'],
        ['beta', 'second note'],
      ]);
      scope.resources.add({
        uri: 'notes://readme',
        name: 'readme',
        description: 'About notes',
        mimeType: 'text/plain',
        read: () => 'Notes are kept in memory.',
      });
      scope.resources.add({
        uri: 'notes://logo',
        name: 'logo',
        mimeType: 'image/png',
        read: () => new Uint8Array([137, 80, 78, 71]),
      });
      scope.resources.template({
        uriTemplate: 'notes://note/{id}',
        name: 'note',
        description: 'One note by id',
        mimeType: 'text/plain',
        complete: { id: (value) => [...store.keys()].filter((k) => k.startsWith(value)) },
        list: () => [...store.keys()].map((id) => ({ uri: `notes://note/${id}`, name: id })),
        read: (_uri, vars) => {
          const note = store.get(String(vars.id));
          if (note === undefined) throw new Error(`no note ${String(vars.id)}`);
          return note;
        },
      });
      scope.tools.add({
        name: 'edit_note',
        description: 'Changes a note and tells subscribers',
        handler: () => {
          store.set('alpha', 'edited');
          scope.resources.notifyUpdated('notes://note/alpha');
          return 'edited';
        },
      });
      scope.tools.add({
        name: 'add_resource',
        description: 'Adds a resource (list changes)',
        handler: () => {
          scope.resources.add({ uri: 'notes://extra', name: 'extra', read: () => 'extra' });
          return 'added';
        },
      });
    },
  });

describe.each(ERAS)('resources over the %s protocol', (era) => {
  it('lists static resources, template resources and templates', async () => {
    const { server } = await startServer([notes()]);
    running = server;
    await withClient(server, { era }, async (client) => {
      const { resources } = await client.listResources();
      expect(resources.map((r) => r.uri)).toEqual(
        expect.arrayContaining([
          'notes://readme',
          'notes://logo',
          'notes://note/alpha',
          'notes://note/beta',
          'config://settings',
        ]),
      );
      const { resourceTemplates } = await client.listResourceTemplates();
      expect(resourceTemplates).toEqual([expect.objectContaining({ uriTemplate: 'notes://note/{id}', name: 'note' })]);
    });
  });

  it('reads text and binary contents', async () => {
    const { server } = await startServer([notes()]);
    running = server;
    await withClient(server, { era }, async (client) => {
      const text = await client.readResource({ uri: 'notes://readme' });
      expect(text.contents).toEqual([
        { uri: 'notes://readme', mimeType: 'text/plain', text: 'Notes are kept in memory.' },
      ]);
      const blob = await client.readResource({ uri: 'notes://logo' });
      expect(blob.contents).toEqual([
        { uri: 'notes://logo', mimeType: 'image/png', blob: Buffer.from([137, 80, 78, 71]).toString('base64') },
      ]);
      const note = await client.readResource({ uri: 'notes://note/beta' });
      expect(note.contents[0]).toMatchObject({ uri: 'notes://note/beta', text: 'second note' });
    });
  });

  it('answers an unknown URI with the not-found error, naming the URI', async () => {
    const { server } = await startServer([notes()]);
    running = server;
    await withClient(server, { era }, async (client) => {
      const error = await client.readResource({ uri: 'notes://missing' }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: -32602 });
      expect(JSON.stringify((error as { data?: unknown }).data ?? (error as Error).message)).toContain(
        'notes://missing',
      );
    });
  });

  it('completes template variables', async () => {
    const { server } = await startServer([notes()]);
    running = server;
    await withClient(server, { era }, async (client) => {
      const { completion } = await client.complete({
        ref: { type: 'ref/resource', uri: 'notes://note/{id}' },
        argument: { name: 'id', value: 'al' },
      });
      expect(completion.values).toEqual(['alpha']);
    });
  });
});

describe('resource subscriptions and list changes (older protocol sessions)', () => {
  it('sends updated notifications to subscribers only, until they unsubscribe', async () => {
    const { server } = await startServer([notes()]);
    running = server;
    await withClient(server, { era: 'legacy' }, async (client) => {
      const updates: string[] = [];
      client.setNotificationHandler('notifications/resources/updated', (n) => void updates.push(n.params.uri));
      await client.callTool({ name: 'edit_note', arguments: {} });
      await new Promise((r) => setTimeout(r, 30));
      expect(updates).toEqual([]);
      await client.subscribeResource({ uri: 'notes://note/alpha' });
      await client.callTool({ name: 'edit_note', arguments: {} });
      await new Promise((r) => setTimeout(r, 30));
      expect(updates).toEqual(['notes://note/alpha']);
      await client.unsubscribeResource({ uri: 'notes://note/alpha' });
      await client.callTool({ name: 'edit_note', arguments: {} });
      await new Promise((r) => setTimeout(r, 30));
      expect(updates).toEqual(['notes://note/alpha']);
    });
  });

  it('tells the session when a plugin adds a resource', async () => {
    const { server } = await startServer([notes()]);
    running = server;
    await withClient(server, { era: 'legacy' }, async (client) => {
      let changed = 0;
      client.setNotificationHandler('notifications/resources/list_changed', () => void (changed += 1));
      await client.callTool({ name: 'add_resource', arguments: {} });
      await new Promise((r) => setTimeout(r, 30));
      expect(changed).toBe(1);
      expect((await client.listResources()).resources.map((r) => r.uri)).toContain('notes://extra');
    });
  });
});
