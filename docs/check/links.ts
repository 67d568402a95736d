// Finds broken links in the built site: every local href/src must name a file of the site, and every
// `#fragment` an id on the page it points at. External links are listed, not fetched (no network here).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

export interface LinkReport {
  pages: number;
  checked: number;
  external: string[];
  broken: string[];
}

const ATTRIBUTE = /\s(?:href|src)="([^"]*)"/g;
const ID = /\s(?:id|name)="([^"]*)"/g;

function decode(value: string): string {
  return value
    .replace(/&amp;/g, '&')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>');
}

export function checkLinks(siteDir: string): LinkReport {
  const pages = readdirSync(siteDir, { recursive: true, encoding: 'utf8' }).filter((name) => name.endsWith('.html'));
  const ids = new Map<string, Set<string>>();
  const idsOf = (file: string) => {
    let found = ids.get(file);
    if (!found) {
      found = new Set([...readFileSync(file, 'utf8').matchAll(ID)].map((match) => decode(match[1]!)));
      ids.set(file, found);
    }
    return found;
  };
  const report: LinkReport = { pages: pages.length, checked: 0, external: [], broken: [] };
  for (const page of pages) {
    const file = join(siteDir, page);
    const html = readFileSync(file, 'utf8');
    for (const match of html.matchAll(ATTRIBUTE)) {
      const link = decode(match[1]!);
      if (/^[a-z][a-z0-9+.-]*:/i.test(link) || link.startsWith('//')) {
        if (!/^(https?|mailto):/i.test(link)) report.broken.push(`${page}: unexpected scheme in ${link}`);
        else report.external.push(link);
        continue;
      }
      if (link === '' || link === '#') continue;
      report.checked += 1;
      const [path, fragment] = link.split('#', 2) as [string, string | undefined];
      const target = path === '' ? file : join(dirname(file), decodeURIComponent(path.split('?')[0]!));
      if (!target.startsWith(siteDir) || !existsSync(target)) {
        report.broken.push(`${page}: ${link} (no ${relative(siteDir, target)})`);
        continue;
      }
      if (fragment && target.endsWith('.html') && !idsOf(target).has(decodeURIComponent(fragment))) {
        report.broken.push(`${page}: ${link} (no id "${fragment}" on ${relative(siteDir, target)})`);
      }
    }
  }
  return report;
}
