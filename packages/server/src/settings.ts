import { definePlugin } from './plugin.js';

/** `config://settings`: the server's configuration as JSON, secrets redacted. */
export function settingsPlugin(settings: () => Record<string, unknown>) {
  return definePlugin({
    name: 'trellis.settings',
    setup(scope) {
      scope.resources.add({
        uri: 'config://settings',
        name: 'settings',
        title: 'Server settings',
        description: 'The configuration this server runs with (secrets redacted)',
        mimeType: 'application/json',
        read: () => JSON.stringify(settings(), null, 2),
      });
    },
  });
}
