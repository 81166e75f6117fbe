/**
 * Integration tests run against the real testbed (three hosts over SSH). It
 * must be up: a missing testbed is a failure, never a skip. They run the
 * built CLI (dist/), so it is rebuilt first when a source file is newer.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { testbedHostsFile } from '../../src/testbed/layout.js';
import { CLI_BIN } from './cli.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export default function setup(): void {
  const file = testbedHostsFile();
  if (!existsSync(file)) {
    throw new Error(`the testbed is not up (${file} is missing): run "npm test", or "docker-mcp testbed up" first`);
  }
  if (!existsSync(CLI_BIN) || newestSourceMs(path.join(ROOT, 'src')) > statSync(CLI_BIN).mtimeMs) {
    execFileSync(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', path.join(ROOT, 'tsconfig.build.json')], { stdio: 'inherit' });
  }
}

function newestSourceMs(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSourceMs(full) : statSync(full).mtimeMs);
  }
  return newest;
}
