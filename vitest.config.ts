import { defineConfig } from 'vitest/config';

// Four projects: unit tests (pure cores, fast, no cluster), the example agents run locally, integration
// tests (the operator against a real local control plane started by the global setup), and the e2e tier
// (the operator image installed by Helm on the real node, running the real agents; docs/testing.md).
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
      {
        test: {
          name: 'e2e',
          include: ['tests/e2e/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['tests/e2e/global-setup.ts'],
          testTimeout: 300_000,
          // The machine's one real node: files wait for each other's (cluster/src/real-node-host.ts).
          hookTimeout: 45 * 60_000,
          maxWorkers: 1,
          fileParallelism: false,
        },
      },
    ],
  },
});
