/**
 * The audit trail: one JSON line per tool call, refused or not, appended to
 * `audit.jsonl` in the state directory (0600: it says what was done where).
 * Only names are written (tool, action, host, stack, container, image), never
 * an argument's value that may hold a secret (`environment`,
 * `compose_content`, options) nor an error's message, which may quote one.
 */
import { chmod, mkdir, open, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { ErrorKind } from '../errors.js';
import { stateDir } from '../migration/journal.js';

/** Who said yes to a confirmed action: the user (elicitation), the model (`confirm: true`), or nobody was asked. */
export type ConfirmedBy = 'user' | 'model' | 'none';

export interface AuditRecord {
  readonly at: string;
  readonly tool: string;
  readonly action: string | null;
  readonly host_id?: string;
  readonly target_host_id?: string;
  readonly stack_name?: string;
  readonly container_id?: string;
  readonly image_name?: string;
  /** ok, the failure's kind, or declined / cancelled (the user said no). */
  readonly outcome: 'ok' | ErrorKind | 'declined' | 'cancelled';
  readonly duration_ms: number;
  readonly confirmed_by: ConfirmedBy;
}

/** The arguments that name what was acted on: the only ones written. */
export const AUDITED_ARGUMENTS = ['host_id', 'target_host_id', 'stack_name', 'container_id', 'image_name'] as const;

export function auditFile(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(stateDir(env), 'audit.jsonl');
}

export async function appendAudit(record: AuditRecord, file = auditFile()): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const handle = await open(file, 'a', 0o600);
  try {
    await handle.write(`${JSON.stringify(record)}\n`);
  } finally {
    await handle.close();
  }
  // A file made before (or by hand) is made private too.
  await chmod(file, 0o600);
}

/** The records at or after `since`, oldest first; none when there is no file yet. */
export async function readAudit(since?: Date, file = auditFile()): Promise<AuditRecord[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const records = text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as AuditRecord);
  return since ? records.filter((record) => Date.parse(record.at) >= since.getTime()) : records;
}

/** Pick, from a call's arguments, the names worth recording: strings only, each at most 255 characters. */
export function auditedArguments(args: Readonly<Record<string, unknown>>): Partial<Record<(typeof AUDITED_ARGUMENTS)[number], string>> {
  return Object.fromEntries(AUDITED_ARGUMENTS.flatMap((name) => (typeof args[name] === 'string' && args[name] !== '' ? [[name, (args[name] as string).slice(0, 255)]] : [])));
}
