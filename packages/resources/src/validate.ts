import { UriTemplate, type CacheHint } from '@modelcontextprotocol/server';
import type { ResourceSpec, ResourceTemplateSpec } from './define.js';

const URI = /^[A-Za-z][A-Za-z0-9+.-]*:\S*$/;

export function assertResourceSpec(spec: ResourceSpec<unknown>): void {
  if (typeof spec.uri !== 'string' || !URI.test(spec.uri)) {
    throw new TypeError(
      `resource uri ${JSON.stringify(spec.uri)} is invalid: expected an absolute URI such as "notes://today"`,
    );
  }
  if (UriTemplate.isTemplate(spec.uri)) {
    throw new TypeError(
      `resource uri "${spec.uri}" contains a template expression; register it with addTemplate as { uriTemplate }`,
    );
  }
  assertCommon(`resource "${spec.uri}"`, spec);
  if (spec.size !== undefined && !(Number.isSafeInteger(spec.size) && spec.size >= 0)) {
    throw new TypeError(`resource "${spec.uri}": size must be a non-negative integer, got ${String(spec.size)}`);
  }
}

/** Checks a template spec and compiles its template. */
export function compileTemplate(spec: ResourceTemplateSpec<unknown>): UriTemplate {
  const what = `resource template "${String(spec.uriTemplate)}"`;
  if (typeof spec.uriTemplate !== 'string' || !URI.test(spec.uriTemplate.replace(/\{[^}]*\}/g, 'x'))) {
    throw new TypeError(`${what}: expected an RFC 6570 template of an absolute URI such as "notes://{id}"`);
  }
  let template: UriTemplate;
  try {
    template = new UriTemplate(spec.uriTemplate);
  } catch (error) {
    throw new TypeError(
      `${what} is not a valid RFC 6570 template: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  if (template.variableNames.length === 0) {
    throw new TypeError(`${what} has no variables; register a fixed URI with add({ uri })`);
  }
  assertCommon(what, spec);
  for (const variable of Object.keys(spec.complete ?? {})) {
    if (!template.variableNames.includes(variable)) {
      throw new TypeError(
        `${what}: complete.${variable} names no variable of the template (its variables: ${template.variableNames.join(', ')})`,
      );
    }
  }
  return template;
}

function assertCommon(what: string, spec: { name: unknown; cacheHint?: CacheHint }): void {
  if (typeof spec.name !== 'string' || spec.name.trim() === '') {
    throw new TypeError(`${what} needs a name: clients show it in their resource pickers`);
  }
  const hint = spec.cacheHint;
  if (hint === undefined) return;
  if (hint.ttlMs !== undefined && !(Number.isSafeInteger(hint.ttlMs) && hint.ttlMs >= 0)) {
    throw new TypeError(`${what}: cacheHint.ttlMs must be a non-negative integer, got ${String(hint.ttlMs)}`);
  }
  if (hint.cacheScope !== undefined && hint.cacheScope !== 'public' && hint.cacheScope !== 'private') {
    throw new TypeError(
      `${what}: cacheHint.cacheScope must be "public" or "private", got ${JSON.stringify(hint.cacheScope)}`,
    );
  }
}
