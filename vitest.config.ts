import { defineConfig } from 'vitest/config';

// Unit tests need no host. Integration tests talk to the real testbed (see
// src/testbed) over SSH and fail loudly when it is not up. They run in two
// lanes side by side, each one file at a time: the QEMU guests' files
// (delta, epsilon: slow, software emulation) and the container hosts' files
// (alpha, beta, gamma). The testbed's own test kills and restarts the
// container hosts' daemons, so it runs first, before either lane starts.
const GUEST_FILES = [
  'test/integration/openzfs.test.ts',
  'test/integration/openzfs-faults.test.ts',
  'test/integration/openzfs-safety.test.ts',
  'test/integration/route-key.test.ts',
  'test/integration/compose-stacks.test.ts',
];
const EXCLUSIVE_FILES = ['test/integration/testbed.test.ts'];

const integration = {
  globalSetup: ['test/integration/global-setup.ts'],
  testTimeout: 120_000,
  hookTimeout: 300_000,
  fileParallelism: false,
};

export default defineConfig({
  test: {
    // The lanes wait on SSH far more than they compute: one worker each, plus the unit tests.
    maxWorkers: 3,
    projects: [
      {
        test: { name: 'unit', include: ['test/unit/**/*.test.ts'], sequence: { groupOrder: 0 } },
      },
      {
        test: { ...integration, name: 'testbed', include: EXCLUSIVE_FILES, sequence: { groupOrder: 0 } },
      },
      {
        test: {
          ...integration,
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          exclude: [...GUEST_FILES, ...EXCLUSIVE_FILES],
          sequence: { groupOrder: 1 },
        },
      },
      {
        test: { ...integration, name: 'guests', include: GUEST_FILES, sequence: { groupOrder: 1 } },
      },
    ],
  },
});
