export { startTestPostgres } from '../../../tools/postgres.mjs';
export type { TestPostgres } from '../../../tools/postgres.mjs';
