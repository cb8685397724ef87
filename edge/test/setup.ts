import { applyD1Migrations } from 'cloudflare:test';
import { env } from 'cloudflare:workers';

// Migrations are applied to the isolated per-test-file D1 before any test runs.
await applyD1Migrations(env.DB, (env as unknown as { TEST_MIGRATIONS: Parameters<typeof applyD1Migrations>[1] }).TEST_MIGRATIONS);
