import { join } from 'node:path';
import { cloudflareTest, readD1Migrations } from '@cloudflare/vitest-pool-workers';
import { defineConfig } from 'vitest/config';

/** Edge tests run inside workerd (the Workers runtime), with the D1 and Durable Object bindings of wrangler.toml. */
export default defineConfig(async () => {
  const migrations = await readD1Migrations(join(import.meta.dirname, 'migrations'));
  return {
    plugins: [
      cloudflareTest({
        main: './src/index.ts',
        wrangler: { configPath: '../wrangler.toml' },
        miniflare: {
          bindings: {
            TEST_MIGRATIONS: migrations,
            GPU_SIGNING_SECRET: 'edge-test-secret-0123456789abcdef0123456789',
            GPU_FUNCTION_URL: 'https://gpu.test',
          },
        },
      }),
    ],
    test: {
      name: 'edge (workerd)',
      include: ['test/**/*.test.ts'],
      setupFiles: ['./test/setup.ts'],
    },
  };
});
