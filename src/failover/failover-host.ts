/**
 * Failover of a whole host: every stack of it that has a standby starts on
 * its standby, a bounded number at once, with one report. The plan is made
 * from this controller's files alone (standby.yml, and the stacks last seen
 * on the host: seen-stacks.ts), since the host cannot be asked; it is what
 * the operator confirms. Then the host is tried once for all its stacks (a
 * host that answers is refused, nothing changed), and each stack fails over
 * as `failover STACK` would, one's failure stopping none of the others.
 */
import pLimit from 'p-limit';
import type { LoadedConfig } from '../config/load.js';
import { DockerMcpError, describeError, InvalidInputError, type ErrorKind } from '../errors.js';
import { validateHostId } from '../names/validate.js';
import type { ProgressListener } from '../transfer/progress.js';
import { loadStandbyFile } from '../standby/declarations.js';
import type { HostOf } from '../standby/manage.js';
import { standbyStateDir } from '../standby/pass-state.js';
import { readSeenStacks } from '../standby/seen-stacks.js';
import { confirmPrimaryGone, failoverDeclared, type FailoverReport, type FailoverRequest } from './failover.js';

export const DEFAULT_HOST_FAILOVER_PARALLEL = 3;

export interface HostFailoverPlan {
  readonly host: string;
  /** The stacks that start on their standby. */
  readonly stacks: readonly { readonly stack: string; readonly to: string }[];
  /** Failed over before: their standby runs them already. */
  readonly alreadyFailedOver: readonly { readonly stack: string; readonly to: string; readonly at: string }[];
  /** Seen on the host, with no standby: down until the host returns (when last seen there, null when not known). */
  readonly lost: readonly { readonly stack: string; readonly seenAt: string | null }[];
  /** Other hosts' stacks whose standby was this host: they run on, with no copy kept until it returns. */
  readonly standbysLost: readonly { readonly host: string; readonly stack: string }[];
  /** When the host last answered a listing here (null: never; the lost stacks may be incomplete). */
  readonly listedAt: string | null;
}

export type HostFailoverResult =
  | { readonly stack: string; readonly to: string; readonly ok: true; readonly report: FailoverReport }
  | { readonly stack: string; readonly to: string; readonly ok: false; readonly error: { readonly kind: ErrorKind; readonly message: string } };

export interface HostFailoverReport extends HostFailoverPlan {
  /** How the host was found gone, tried once for all its stacks (or the operator's word). */
  readonly primary: readonly string[];
  readonly results: readonly HostFailoverResult[];
  readonly failed: number;
  readonly seconds: number;
}

export interface HostFailoverRequest extends Pick<FailoverRequest, 'primaryDead' | 'primaryCheck' | 'startTimeoutMs' | 'stateDir' | 'journalDir'> {
  readonly host: string;
  /** How many stacks fail over at once. */
  readonly parallel?: number;
  readonly onProgress?: ProgressListener;
}

/** What a failover of `host` would do, from this controller's files only: the host is not reached. */
export async function planHostFailover(config: LoadedConfig, host: string, stateDir = standbyStateDir()): Promise<HostFailoverPlan> {
  const id = validateHostId(host);
  if (!config.hosts.some((h) => h.id === id)) throw new InvalidInputError('host', id, `is not in ${config.location.path}`);
  const { standbys } = await loadStandbyFile(config.location.path);
  const seen = await readSeenStacks(id, stateDir);
  const declared = standbys.filter((d) => d.host === id);
  const withStandby = new Set(declared.map((d) => d.stack));
  return {
    host: id,
    // A failover cut off before its stack ran is finished by running it again.
    stacks: declared.filter((d) => !d.failedOver?.runningAt).map((d) => ({ stack: d.stack, to: d.to })),
    alreadyFailedOver: declared.flatMap((d) => (d.failedOver?.runningAt ? [{ stack: d.stack, to: d.to, at: d.failedOver.at }] : [])),
    lost: Object.entries(seen.stacks)
      .filter(([stack]) => !withStandby.has(stack))
      .map(([stack, seenAt]) => ({ stack, seenAt }))
      .sort((a, b) => a.stack.localeCompare(b.stack)),
    standbysLost: standbys.filter((d) => d.to === id && !d.failedOver).map((d) => ({ host: d.host, stack: d.stack })),
    listedAt: seen.listedAt,
  };
}

export async function failoverHost(config: LoadedConfig, hostOf: HostOf, request: HostFailoverRequest): Promise<HostFailoverReport> {
  const began = Date.now();
  const plan = await planHostFailover(config, request.host, request.stateDir);
  const { host } = plan;
  if (plan.stacks.length === 0) {
    return { ...plan, primary: [`not tried: no stack of ${host} has a standby left to fail over to`], results: [], failed: 0, seconds: (Date.now() - began) / 1000 };
  }
  const names = plan.stacks.map((s) => s.stack).join(', ');
  const primary = await confirmPrimaryGone(config, host, request, (answer) =>
    `${host} answers (${answer}): it may still run ${names}, so a failover would run them twice. Nothing was changed. ` +
      `Move them instead (docker-mcp migrate ${host} STANDBY STACK, or evacuate it), or fail over one stack: docker-mcp failover STACK. ` +
      `Only if you know ${host} is down and only this machine still reaches it, add --primary-dead`,
  );

  // One document for all of them: each failover records itself in it, and the writes take turns.
  const file = await loadStandbyFile(config.location.path);
  const limit = pLimit(request.parallel ?? DEFAULT_HOST_FAILOVER_PARALLEL);
  const results = await Promise.all(
    plan.stacks.map(({ stack, to }) =>
      limit(async (): Promise<HostFailoverResult> => {
        const started = Date.now();
        try {
          const declaration = file.standbys.find((d) => d.host === host && d.stack === stack && !d.failedOver?.runningAt);
          if (!declaration) throw new InvalidInputError('stack', stack, `is no longer declared with a standby on ${to} in ${file.path}`);
          const onProgress = request.onProgress;
          const report = await failoverDeclared(
            hostOf,
            file,
            declaration,
            primary,
            {
              ...request,
              // Several stacks at once: each line says whose it is.
              onProgress: onProgress && ((event) => onProgress(event.type === 'migration-phase' ? { ...event, message: `${stack}: ${event.message}` } : event)),
            },
            started,
          );
          return { stack, to, ok: true, report };
        } catch (error) {
          return { stack, to, ok: false, error: { kind: error instanceof DockerMcpError ? error.kind : 'failed', message: describeError(error) } };
        }
      }),
    ),
  );
  return { ...plan, primary, results, failed: results.filter((r) => !r.ok).length, seconds: (Date.now() - began) / 1000 };
}

/** The stacks a confirmation names, before anything is done. */
export function describeHostFailoverPlan(plan: HostFailoverPlan): string[] {
  return [
    ...plan.stacks.map((s) => `${s.stack} starts on ${s.to} from the last copy there; what ${plan.host} wrote after it stays on ${plan.host}`),
    ...plan.alreadyFailedOver.map((s) => `${s.stack}: failed over to ${s.to} already (${s.at})`),
    ...plan.lost.map((s) => `${s.stack} has no standby: down until ${plan.host} returns`),
    ...plan.standbysLost.map((s) => `${s.host}/${s.stack} keeps running; its standby copy on ${plan.host} is not kept until ${plan.host} returns`),
    plan.listedAt === null
      ? `${plan.host}'s stacks were never listed here: stacks without a standby may be missing from this list`
      : `stacks without a standby as last listed on ${plan.host} at ${plan.listedAt}`,
  ];
}
