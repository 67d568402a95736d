import { run } from '@trellis/transport';
import { greeter } from './greeter.js';

// The shared command line: --transport stdio|http, --port, --host, --log-level, --help, plus every
// plugin's settings (here GREETING / --greeting).
void run({ name: 'greeter', version: '1.0.0', description: 'Greets people by name.', plugins: [greeter()] });
