/** Files and folders docker-mcp itself writes (with text MCP clients partly choose). */
import { journalDir } from '../migration/journal.js';
import { testbedDir } from '../testbed/layout.js';
import { userConfigDir } from './locate.js';
import { ownKnownHostsFile } from './own-known-hosts.js';
import { standbyFileFor } from '../standby/declarations.js';

export function toolWrittenPlaces(hostsFile: string, env: NodeJS.ProcessEnv = process.env): string[] {
  const standbyFile = standbyFileFor(hostsFile);
  return [hostsFile, `${hostsFile}.bak`, ownKnownHostsFile(hostsFile), standbyFile, `${standbyFile}.bak`, userConfigDir(env), journalDir(env), testbedDir(env)];
}
