import { httpClient } from '@trellis/http';
import { run } from '@trellis/transport';

void run({
  name: 'trellis-fetch',
  version: '0.1.0',
  description:
    'Fetches public web pages for a model: http_get for one URL, bulk_fetch for several, with SSRF protection and limits.',
  plugins: [httpClient()],
});
