/**
 * Integration tests run against the real testbed (three hosts over SSH). It
 * must be up: a missing testbed is a failure, never a skip.
 */
import { existsSync } from 'node:fs';
import { testbedHostsFile } from '../../src/testbed/layout.js';

export default function setup(): void {
  const file = testbedHostsFile();
  if (!existsSync(file)) {
    throw new Error(`the testbed is not up (${file} is missing): run "npm test", or "docker-mcp testbed up" first`);
  }
}
