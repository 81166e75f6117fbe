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
import { issueRouteKey, renewRouteKey, revokeRouteKey, ROUTE_KEY_RENEW_EVERY_MS, type RouteKey } from '../transfer/route-key.js';
import { forgetRevokedRouteKey, listMigrations, type MigrationJournal } from './journal.js';

export async function issueJournalledRouteKey(
  journal: MigrationJournal,
  source: DockerHost,
  target: DockerHost,
  onProgress?: ProgressListener,
): Promise<RouteKey | null> {
  await revokeKeysLeftBehind(journal, source, target, onProgress);
  const save = (record: NonNullable<MigrationJournal['entry']['routeKey']>) => journal.record({ routeKey: record });
  const issue = await issueRouteKey(journal.entry.id, source, target, save);
  const say = (message: string) => onProgress?.({ type: 'transfer-step', service: '-', message });
  if (!issue.issued) {
    say(`no key of the migration's own for ${source.host.id} → ${target.host.id}: ${issue.reason}`);
    return null;
  }
  const { from } = issue.key;
  say(
    from.address === null
      ? `the migration's key runs only its own commands on ${target.host.id}, from any address: ${from.reason}`
      : `the migration's key runs only its own commands on ${target.host.id}, from ${from.address} only`,
  );
  keepRenewing(journal, target, onProgress);
  return issue.key;
}

/** Renewals of the keys in place, by migration id: stopped (and the one under way awaited) before the key is revoked. */
const renewals = new Map<string, { timer: NodeJS.Timeout; underWay: Promise<void> }>();

/** The key expires an hour after its last renewal: while the migration runs (a long seed), it is renewed. */
function keepRenewing(journal: MigrationJournal, target: DockerHost, onProgress?: ProgressListener): void {
  const id = journal.entry.id;
  void stopRenewing(id);
  const timer = setInterval(() => {
    const renewal = renewals.get(id);
    const record = journal.entry.routeKey;
    if (!renewal || !record) return;
    renewal.underWay = renewRouteKey(record, target, (renewed) => journal.record({ routeKey: renewed })).then(
      () => undefined,
      (error: unknown) => {
        onProgress?.({ type: 'transfer-step', service: '-', message: `could not renew the migration's key on ${target.host.id}: ${describeError(error)} (tried again in ${ROUTE_KEY_RENEW_EVERY_MS / 60_000} min)` });
      },
    );
  }, ROUTE_KEY_RENEW_EVERY_MS);
  // A pending renewal never keeps the process alive.
  timer.unref();
  renewals.set(id, { timer, underWay: Promise.resolve() });
}

/** No renewal after this; the one under way, if any, has ended when it resolves (so it cannot journal the key again after its revocation). */
async function stopRenewing(migrationId: string): Promise<void> {
  const renewal = renewals.get(migrationId);
  if (!renewal) return;
  clearInterval(renewal.timer);
  renewals.delete(migrationId);
  await renewal.underWay;
}

/** Revoke what the journal says is in place. A failure is a warning: the key expires by itself. */
export async function revokeJournalledRouteKey(
  journal: MigrationJournal,
  source: DockerHost,
  target: DockerHost,
  onProgress?: ProgressListener,
): Promise<void> {
  await stopRenewing(journal.entry.id);
  const record = journal.entry.routeKey;
  if (!record) return;
  try {
    await revokeRouteKey(record, source, target);
    await journal.record({ routeKey: null });
  } catch (error) {
    onProgress?.({
      type: 'transfer-step',
      service: '-',
      message: `could not take the migration's key (${record.marker}) away: ${describeError(error)}; it expires by itself within the hour, and the next migration between ${source.host.id} and ${target.host.id} takes it away`,
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
