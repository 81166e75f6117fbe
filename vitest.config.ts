import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { defineConfig } from 'vitest/config';

// Unit tests need no host. Integration tests talk to the real testbed (see
// src/testbed) over SSH and fail loudly when it is not up; their files run one
// at a time within a project. `npm test` (scripts/test-all.sh) runs the
// `testbed` project alone first, since it kills and restarts the container
// hosts' daemons, then `guests` (the QEMU guests' files: slow, software
// emulation) and `integration` (the container hosts' files) as two vitest
// processes side by side.
const GUEST_FILES = [
  'test/integration/openzfs.test.ts',
  'test/integration/openzfs-faults.test.ts',
  'test/integration/openzfs-safety.test.ts',
  'test/integration/route-key.test.ts',
  'test/integration/compose-stacks.test.ts',
  'test/integration/real-apps-openzfs.test.ts',
  'test/integration/standby-openzfs.test.ts',
  'test/integration/failover-openzfs.test.ts',
  'test/integration/corpus-guests.test.ts',
];
// The corpus on the guests (eight apps there and back under emulation) has not
// been run or timed in a whole `npm test` yet: it joins the guests' lane only
// with DOCKER_MCP_CORPUS_GUESTS=1 until it is measured within the 45 minutes.
const OPT_IN_FILES = process.env.DOCKER_MCP_CORPUS_GUESTS === '1' ? [] : ['test/integration/corpus-guests.test.ts'];
const EXCLUSIVE_FILES = ['test/integration/testbed.test.ts'];
// Guest files that need the guests to themselves: route-key checks that no
// route key is left anywhere on them (it runs first, while the other lane
// restarts the container hosts' daemons); failover-openzfs cuts delta's
// power, which the container hosts' files that list every host would see
// (it runs last, once the other lane is done). scripts/test-all.sh orders them.
const GUESTS_FIRST = ['test/integration/route-key.test.ts'];
const GUESTS_LAST = ['test/integration/failover-openzfs.test.ts'];
// The container hosts' files that reach only alpha, beta and gamma, never
// listing every host: they run last in the hosts' lane, and failover-openzfs
// (which powers delta off) waits only for the files before them, so a slow
// hosts' lane does not hold it back.
const HOSTS_BESIDE_FAILOVER = [
  'test/integration/data-safety-paths.test.ts',
  'test/integration/load.test.ts',
  'test/integration/log-bounds.test.ts',
  'test/integration/migrate-downtime.test.ts',
  'test/integration/migrate-options.test.ts',
  'test/integration/migrate-resume.test.ts',
  'test/integration/real-apps.test.ts',
  'test/integration/security.test.ts',
  'test/integration/standby-staging.test.ts',
];

const integration = {
  globalSetup: ['test/integration/global-setup.ts'],
  testTimeout: 120_000,
  hookTimeout: 300_000,
  fileParallelism: false,
};

export default defineConfig({
  test: {
    projects: [
      // Unit tests fake hosts under real-looking names (delta.vm): what a real run remembered of
      // the testbed's hosts in its state directory (src/host/probe-memo.ts) must not reach them.
      { test: { name: 'unit', include: ['test/unit/**/*.test.ts'], env: { DOCKER_MCP_STATE_DIR: mkdtempSync(path.join(os.tmpdir(), 'docker-mcp-unit-state-')) } } },
      { test: { ...integration, name: 'testbed', include: EXCLUSIVE_FILES } },
      {
        test: {
          ...integration,
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          exclude: [...GUEST_FILES, ...EXCLUSIVE_FILES, ...HOSTS_BESIDE_FAILOVER],
        },
      },
      { test: { ...integration, name: 'integration-late', include: HOSTS_BESIDE_FAILOVER } },
      { test: { ...integration, name: 'guests-first', include: GUESTS_FIRST } },
      { test: { ...integration, name: 'guests', include: GUEST_FILES, exclude: [...OPT_IN_FILES, ...GUESTS_FIRST, ...GUESTS_LAST] } },
      { test: { ...integration, name: 'guests-last', include: GUESTS_LAST } },
    ],
  },
});
