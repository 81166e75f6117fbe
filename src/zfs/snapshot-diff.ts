/**
 * Decide what to send, from the snapshot lists of both sides. Pure data in,
 * pure data out, like zrepl's diff: no host is touched here.
 *
 * Snapshots are matched by guid, not by name: a snapshot that has the same
 * name on both sides but a different guid is not the same data.
 */

export interface SnapshotInfo {
  /** The part after "@". */
  readonly name: string;
  readonly guid: string;
  /** Creation order on its own pool. */
  readonly createtxg: number;
  /** Data the snapshot refers to, when known. */
  readonly referencedBytes?: number;
}

export type SendDecision =
  /** Target dataset does not exist: send the snapshot in full. */
  | { readonly kind: 'full'; readonly to: SnapshotInfo }
  /** Both sides share `from`: send only what changed since. */
  | { readonly kind: 'incremental'; readonly from: SnapshotInfo; readonly to: SnapshotInfo }
  /** The target already has `to`. */
  | { readonly kind: 'up-to-date'; readonly to: SnapshotInfo }
  /** The target exists but shares no snapshot with the source. */
  | { readonly kind: 'no-common-snapshot'; readonly sourceSnapshots: readonly string[]; readonly targetSnapshots: readonly string[] }
  /**
   * The target has snapshots newer than the common one: receiving would roll
   * them back. `targetOnly` lists them.
   */
  | { readonly kind: 'diverged'; readonly common: SnapshotInfo; readonly targetOnly: readonly string[] };

/**
 * @param source snapshots of the source dataset, any order; must include `to`
 * @param target snapshots of the target dataset, or null when it does not exist
 * @param to the snapshot to bring the target up to
 */
export function decideSend(
  source: readonly SnapshotInfo[],
  target: readonly SnapshotInfo[] | null,
  to: SnapshotInfo,
): SendDecision {
  if (target === null) return { kind: 'full', to };
  if (target.some((snapshot) => snapshot.guid === to.guid)) return { kind: 'up-to-date', to };

  const targetGuids = new Set(target.map((snapshot) => snapshot.guid));
  const sourceBeforeTo = [...source]
    .filter((snapshot) => snapshot.createtxg < to.createtxg)
    .sort((a, b) => b.createtxg - a.createtxg);
  const common = sourceBeforeTo.find((snapshot) => targetGuids.has(snapshot.guid));
  if (!common) {
    return {
      kind: 'no-common-snapshot',
      sourceSnapshots: source.map((s) => s.name),
      targetSnapshots: target.map((s) => s.name),
    };
  }
  const commonOnTarget = target.find((snapshot) => snapshot.guid === common.guid) as SnapshotInfo;
  const targetOnly = target
    .filter((snapshot) => snapshot.createtxg > commonOnTarget.createtxg)
    .map((snapshot) => snapshot.name);
  if (targetOnly.length > 0) return { kind: 'diverged', common, targetOnly };
  return { kind: 'incremental', from: common, to };
}
