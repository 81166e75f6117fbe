/**
 * Where each stack of a host goes when the host is evacuated, decided from
 * what the checks of every candidate found: pure data in, pure data out
 * (the checks are made by evacuate.ts). A stack goes to its standby when it
 * has one that takes it; otherwise to the candidate that takes it by the
 * preferred method (ZFS from a ZFS source), then with the most room left.
 * Stacks already placed use up their target's room and ports: two stacks
 * that publish the same port are never sent to one host, nor more data than
 * its free space. A stack no candidate takes is left behind with each
 * candidate's reason.
 */

/** What the checks found for one stack on one candidate host. */
export interface CandidateCheck {
  readonly host: string;
  /** Why the stack cannot go there whatever else moves (the plan's or pre-flight's refusal), or null. */
  readonly refused: string | null;
  /** How its data would move there: zfs for every data path, else rsync; none: it has no data paths. */
  readonly method: 'zfs' | 'rsync' | 'none';
  /** The stack's data and named volumes, as pre-flight measured them (0 when refused). */
  readonly dataBytes: number;
  /** Free under the candidate's appdata_path, or null when unknown. */
  readonly freeBytes: number | null;
  /** standby.yml declares this host the stack's standby. */
  readonly standby: boolean;
}

export interface StackChecks {
  readonly stack: string;
  /** Why the stack cannot leave the host wherever it would go, or null. */
  readonly unmovable: string | null;
  /** Host ports it publishes: "8080/tcp". */
  readonly ports: readonly string[];
  readonly candidates: readonly CandidateCheck[];
}

export interface EvacuationMove {
  readonly stack: string;
  readonly to: string;
  readonly method: CandidateCheck['method'];
  readonly standby: boolean;
  readonly dataBytes: number;
  /** Why there, in words. */
  readonly why: string;
  /** The candidates ranked before it that do not take the stack, and why. */
  readonly passedOver: readonly { readonly host: string; readonly reason: string }[];
}

export interface LeftBehind {
  readonly stack: string;
  /** Each candidate's reason (host null: one reason for them all). */
  readonly reasons: readonly { readonly host: string | null; readonly reason: string }[];
}

/** A stack of the host that evacuate does not move and need not: it does not run there. */
export interface Skipped {
  readonly stack: string;
  readonly reason: string;
}

export interface EvacuationPlan {
  readonly host: string;
  /** The hosts the stacks may go to, in the order asked (the standbys are tried for their own stacks besides). */
  readonly candidates: readonly string[];
  /** ZFS capable: a ZFS candidate is preferred (send/receive keeps snapshots and sends less). */
  readonly zfsSource: boolean;
  readonly moves: readonly EvacuationMove[];
  readonly leftBehind: readonly LeftBehind[];
  readonly skipped: readonly Skipped[];
}

export function planEvacuation(
  host: string,
  candidates: readonly string[],
  zfsSource: boolean,
  stacks: readonly StackChecks[],
  skipped: readonly Skipped[] = [],
): EvacuationPlan {
  const room = new Map<string, number | null>();
  const portsTaken = new Map<string, Map<string, string>>();
  const moves: EvacuationMove[] = [];
  const leftBehind: LeftBehind[] = [];
  for (const stack of placementOrder(stacks)) {
    if (stack.unmovable !== null) {
      leftBehind.push({ stack: stack.stack, reasons: [{ host: null, reason: stack.unmovable }] });
      continue;
    }
    if (stack.candidates.length === 0) {
      leftBehind.push({ stack: stack.stack, reasons: [{ host: null, reason: 'there is no candidate host' }] });
      continue;
    }
    const reasons: { host: string; reason: string }[] = [];
    let placed: CandidateCheck | null = null;
    for (const candidate of rankCandidates(stack.candidates, zfsSource, room)) {
      const reason = candidate.refused ?? noRoom(stack, candidate, room, moves) ?? portTaken(stack, candidate, portsTaken);
      if (reason !== null) {
        reasons.push({ host: candidate.host, reason });
        continue;
      }
      placed = candidate;
      break;
    }
    if (placed === null) {
      leftBehind.push({ stack: stack.stack, reasons });
      continue;
    }
    const left = roomLeft(placed, room);
    room.set(placed.host, left === null ? null : left - placed.dataBytes);
    const taken = portsTaken.get(placed.host) ?? new Map<string, string>();
    for (const port of stack.ports) taken.set(port, stack.stack);
    portsTaken.set(placed.host, taken);
    moves.push({
      stack: stack.stack,
      to: placed.host,
      method: placed.method,
      standby: placed.standby,
      dataBytes: placed.dataBytes,
      why: whyThere(placed, zfsSource),
      passedOver: reasons,
    });
  }
  const byName = (a: { stack: string }, b: { stack: string }) => a.stack.localeCompare(b.stack);
  return { host, candidates: [...candidates], zfsSource, moves: moves.sort(byName), leftBehind: leftBehind.sort(byName), skipped: [...skipped].sort(byName) };
}

/** Stacks with a standby first (theirs is reserved for them), then the largest: big ones find room while there is most. */
function placementOrder(stacks: readonly StackChecks[]): StackChecks[] {
  const hasStandby = (s: StackChecks) => s.candidates.some((c) => c.standby && c.refused === null);
  const size = (s: StackChecks) => Math.max(0, ...s.candidates.map((c) => c.dataBytes));
  return [...stacks].sort((a, b) => Number(hasStandby(b)) - Number(hasStandby(a)) || size(b) - size(a) || a.stack.localeCompare(b.stack));
}

/**
 * The standby first; then, from a ZFS source, ZFS candidates; then the most
 * room left (none for one that refused); then by name. A preferred candidate
 * that refuses is tried first all the same, so its reason is told.
 */
function rankCandidates(candidates: readonly CandidateCheck[], zfsSource: boolean, room: ReadonlyMap<string, number | null>): CandidateCheck[] {
  const methodRank = (c: CandidateCheck) => (zfsSource && c.method === 'rsync' ? 1 : 0);
  const space = (c: CandidateCheck) => (c.refused !== null ? 0 : (roomLeft(c, room) ?? Number.MAX_SAFE_INTEGER));
  return [...candidates].sort(
    (a, b) =>
      Number(b.standby) - Number(a.standby) || methodRank(a) - methodRank(b) || space(b) - space(a) || a.host.localeCompare(b.host),
  );
}

function roomLeft(candidate: CandidateCheck, room: ReadonlyMap<string, number | null>): number | null {
  return room.has(candidate.host) ? (room.get(candidate.host) ?? null) : candidate.freeBytes;
}

/** Pre-flight measured the host empty of this evacuation; what the stacks placed there before use is gone. */
function noRoom(stack: StackChecks, candidate: CandidateCheck, room: ReadonlyMap<string, number | null>, moves: readonly EvacuationMove[]): string | null {
  const left = roomLeft(candidate, room);
  if (left === null || candidate.dataBytes <= left) return null;
  const before = moves.filter((m) => m.to === candidate.host).map((m) => m.stack).sort();
  return (
    `its data is ${candidate.dataBytes} bytes and ${candidate.host} has ${Math.max(0, left)} bytes free` +
    (before.length > 0 ? ` once ${before.join(', ')} ${before.length === 1 ? 'moves' : 'move'} there` : '')
  );
}

function portTaken(stack: StackChecks, candidate: CandidateCheck, portsTaken: ReadonlyMap<string, ReadonlyMap<string, string>>): string | null {
  const taken = portsTaken.get(candidate.host);
  const clashes = stack.ports.filter((port) => taken?.has(port)).map((port) => `${port} (${taken?.get(port)})`);
  if (clashes.length === 0) return null;
  return `it publishes ${clashes.join(', ')}, which ${clashes.length === 1 ? 'that stack publishes' : 'those stacks publish'} too, moving to ${candidate.host} in this evacuation`;
}

function whyThere(placed: CandidateCheck, zfsSource: boolean): string {
  const method =
    placed.method === 'zfs'
      ? 'zfs send/receive'
      : placed.method === 'rsync'
        ? `rsync${zfsSource ? ` (${placed.host} has no ZFS, or not for these paths)` : ''}`
        : 'no data paths';
  return placed.standby ? `its standby (only what changed since the last pass is sent), ${method}` : method;
}

/** The left-behind stacks in one line each: for an error message and the CLI. */
export function describeLeftBehind(left: LeftBehind): string {
  return `${left.stack}: ${left.reasons.map((r) => (r.host === null ? r.reason : `${r.host}: ${r.reason}`)).join('; ')}`;
}

/** "web → beta (zfs send/receive)": a move in one line, for the question before it is made. */
export function describeMove(move: EvacuationMove): string {
  return `${move.stack} → ${move.to} (${move.why})`;
}
