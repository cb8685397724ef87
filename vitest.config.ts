import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'node',
          include: ['**/test/**/*.test.ts'],
          exclude: ['**/node_modules/**', 'edge/**'],
          // onnxruntime-node and sharp are native addons: separate processes are safer than worker threads.
          pool: 'forks',
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      './edge/vitest.config.ts',
    ],
  },
});
