/**
 * The migration's own source-to-target key, journalled: issued before the
 * first transfer that may take the direct route, revoked when the migration
 * ends however it ends, by a resume for what an interrupted run left, and by
 * the next migration between the same hosts for what an ended one could not
 * take away.
 */
import type { DockerHost } from '../docker/docker-host.js';
import { describeError } from '../errors.js';
import type { ProgressListener } from '../transfer/progress.js';
import { issueRouteKey, revokeRouteKey, type RouteKey } from '../transfer/route-key.js';
import { forgetRevokedRouteKey, listMigrations, type MigrationJournal } from './journal.js';

export async function issueJournalledRouteKey(
  journal: MigrationJournal,
  source: DockerHost,
  target: DockerHost,
  onProgress?: ProgressListener,
): Promise<RouteKey | null> {
  await revokeKeysLeftBehind(journal, source, target, onProgress);
  const issue = await issueRouteKey(journal.entry.id, source, target, (record) => journal.record({ routeKey: record }));
  if (issue.issued) return issue.key;
  onProgress?.({ type: 'transfer-step', service: '-', message: `no key of the migration's own for ${source.host.id} → ${target.host.id}: ${issue.reason}` });
  return null;
}

/** Revoke what the journal says is in place. A failure is a warning: the key expires by itself. */
export async function revokeJournalledRouteKey(
  journal: MigrationJournal,
  source: DockerHost,
  target: DockerHost,
  onProgress?: ProgressListener,
): Promise<void> {
  const record = journal.entry.routeKey;
  if (!record) return;
  try {
    await revokeRouteKey(record, source, target);
    await journal.record({ routeKey: null });
  } catch (error) {
    onProgress?.({
      type: 'transfer-step',
      service: '-',
      message: `could not take the migration's key (${record.marker}) away: ${describeError(error)}; it expires by itself, and the next migration between ${source.host.id} and ${target.host.id} takes it away`,
    });
  }
}

/**
 * Keys that ended migrations between these two hosts could not take away
 * (the target was unreachable when they ended): taken away now, before this
 * migration adds its own. Interrupted migrations are left to their --resume.
 */
async function revokeKeysLeftBehind(journal: MigrationJournal, source: DockerHost, target: DockerHost, onProgress?: ProgressListener): Promise<void> {
  const hostsById = new Map([
    [source.host.id, source],
    [target.host.id, target],
  ]);
  for (const ended of await listMigrations(journal.directory)) {
    const record = ended.routeKey;
    const endedSource = hostsById.get(ended.source);
    const endedTarget = hostsById.get(ended.target);
    if (ended.status === 'running' || !record || !endedSource || !endedTarget) continue;
    try {
      await revokeRouteKey(record, endedSource, endedTarget);
      await forgetRevokedRouteKey(ended.id, journal.directory);
      onProgress?.({ type: 'transfer-step', service: '-', message: `took away the key migration ${ended.id} left on ${ended.target} (${record.marker})` });
    } catch (error) {
      onProgress?.({ type: 'transfer-step', service: '-', message: `could not take away the key migration ${ended.id} left (${record.marker}): ${describeError(error)}; it expires by itself` });
    }
  }
}
