/**
 * `DOCKER_MCP_COMMAND_LOG=FILE`: every remote command this process runs,
 * one JSON line each (host, command, exit code, milliseconds, whether the
 * root shell ran it), appended to FILE. For counting a test run's commands
 * and their cost, which the debug log cannot do where a test reads the
 * CLI's stderr.
 */
import { appendFileSync } from 'node:fs';

const FILE = process.env.DOCKER_MCP_COMMAND_LOG;

export interface LoggedCommand {
  readonly kind: 'exec' | 'stream';
  readonly host: string;
  readonly command: string;
  readonly exitCode?: number;
  readonly ms: number;
  readonly rootShell?: boolean;
}

export function logCommand(entry: LoggedCommand): void {
  if (!FILE) return;
  // One write per line, appended: lines of several processes do not mix.
  appendFileSync(FILE, `${JSON.stringify({ at: Date.now(), pid: process.pid, ...entry, command: entry.command.slice(0, 300) })}\n`);
}
