import { definePlugin } from '@trellis/server';
import { PNG_1X1 } from './assets.js';

/**
 * The resources of the conformance suite: a static text and a static binary
 * resource, a template whose reads echo the id, and a resource clients
 * subscribe to (with a tool that announces an update of it).
 */
export function conformanceResources() {
  return definePlugin({
    name: 'conformance-resources',
    setup(scope) {
      scope.resources.add({
        uri: 'test://static-text',
        name: 'Static Text Resource',
        description: 'A static text resource for testing',
        mimeType: 'text/plain',
        read: () => 'This is the content of the static text resource.',
      });
      scope.resources.add({
        uri: 'test://static-binary',
        name: 'Static Binary Resource',
        description: 'A static binary resource (image) for testing',
        mimeType: 'image/png',
        read: () => Buffer.from(PNG_1X1, 'base64'),
      });
      scope.resources.add({
        uri: 'test://watched-resource',
        name: 'Watched Resource',
        description: 'A resource that can be subscribed to',
        mimeType: 'text/plain',
        read: () => 'Watched resource content',
      });
      // Not called by the suites: the fleet tests (apps/conformance/test/fleet.test.ts) change the
      // resource on one instance and listen for the update on another.
      scope.tools.add({
        name: 'test_trigger_resource_update',
        description: 'Tells subscribers of test://watched-resource that it changed (notifications/resources/updated)',
        handler: () => {
          scope.resources.notifyUpdated('test://watched-resource');
          return 'test://watched-resource updated';
        },
      });
      scope.resources.template({
        uriTemplate: 'test://template/{id}/data',
        name: 'Resource Template',
        description: 'A resource template with parameter substitution',
        mimeType: 'application/json',
        read: (uri, variables) => {
          const id = String(variables.id);
          return [
            {
              uri,
              mimeType: 'application/json',
              text: JSON.stringify({ id, templateTest: true, data: `Data for ID: ${id}` }),
            },
          ];
        },
      });
    },
  });
}
