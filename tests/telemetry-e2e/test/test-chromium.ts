export { chromiumLaunchOptions } from '../../../tools/chromium.mjs';
