import { defineConfig } from 'vitest/config';

// Two projects: unit tests (pure cores, fast, no cluster) and integration tests
// (the operator against a real local control plane started by the global setup).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['tests/unit/**/*.test.ts'],
          environment: 'node',
        },
      },
      {
        // The example agents end to end, each run by the SDK's local runner against the fixtures (git server,
        // webhook receiver) started on loopback: real processes and HTTP, no cluster.
        test: {
          name: 'agents',
          include: ['tests/agents/**/*.test.ts'],
          environment: 'node',
          testTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['tests/integration/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['tests/integration/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          // Each file gets its own control plane slot; two cores fit two at a time.
          maxWorkers: 2,
          fileParallelism: true,
        },
      },
    ],
  },
});
