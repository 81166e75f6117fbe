import type { Command } from 'commander';
import { InvalidInputError } from '../../errors.js';
import { auditFile, readAudit } from '../../mcp/audit.js';
import { emit, table } from '../output.js';

export function registerAuditCommand(program: Command): void {
  program
    .command('audit')
    .description(`The MCP server's audit trail: every tool call and refusal, oldest first (${auditFile()})`)
    .option('--since <when>', 'only from then on: an ISO date or time (2026-12-06, 2026-12-06T10:00Z), or a time ago (30m, 12h, 7d)')
    .option('--json', 'machine-readable output')
    .action(async (options: { since?: string; json?: boolean }) => {
      const records = await readAudit(options.since === undefined ? undefined : parseSince(options.since));
      emit(records, options, (rows) =>
        rows.length === 0
          ? 'no MCP tool calls recorded'
          : table(
              ['AT', 'TOOL', 'ACTION', 'HOST', 'STACK/CONTAINER', 'OUTCOME', 'MS', 'CONFIRMED BY'],
              rows.map((r) => [r.at, r.tool, r.action ?? '-', r.host_id ?? '-', r.stack_name ?? r.container_id ?? '-', r.outcome, String(r.duration_ms), r.confirmed_by]),
            ),
      );
    });
}

/** `--since`: a date or time, or how long ago (`30m`, `12h`, `7d`). */
export function parseSince(value: string, now = Date.now()): Date {
  const ago = /^(\d{1,6})([mhd])$/.exec(value);
  if (ago) return new Date(now - Number(ago[1]) * { m: 60_000, h: 3_600_000, d: 86_400_000 }[ago[2] as 'm' | 'h' | 'd']);
  const at = Date.parse(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(at)) throw new InvalidInputError('--since', value, 'must be an ISO date or time (2026-12-06, 2026-12-06T10:00Z) or a time ago (30m, 12h, 7d)');
  return new Date(at);
}
