/**
 * Logs go to stderr, always: stdout belongs to command output and to the MCP
 * stdio transport.
 */
import { pino, destination } from 'pino';

export const log = pino(
  { level: process.env.DOCKER_MCP_LOG_LEVEL ?? process.env.LOG_LEVEL?.toLowerCase() ?? 'warn' },
  destination(2),
);
