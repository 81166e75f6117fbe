/** Files and folders docker-mcp itself writes (with text MCP clients partly choose). */
import { journalDir } from '../migration/journal.js';
import { testbedDir } from '../testbed/layout.js';
import { userConfigDir } from './locate.js';
import { ownKnownHostsFile } from './own-known-hosts.js';

export function toolWrittenPlaces(hostsFile: string, env: NodeJS.ProcessEnv = process.env): string[] {
  return [hostsFile, `${hostsFile}.bak`, ownKnownHostsFile(hostsFile), userConfigDir(env), journalDir(env), testbedDir(env)];
}
