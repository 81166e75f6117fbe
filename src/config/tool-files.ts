/** Files and folders docker-mcp itself writes (with text MCP clients partly choose). */
import { journalDir } from '../migration/journal.js';
import { testbedDir } from '../testbed/layout.js';
import { userConfigDir } from './locate.js';

export function toolWrittenPlaces(hostsFile: string, env: NodeJS.ProcessEnv = process.env): string[] {
  return [hostsFile, `${hostsFile}.bak`, userConfigDir(env), journalDir(env), testbedDir(env)];
}
