/**
 * How many migrations one process runs at once. Each holds SSH sessions,
 * transfer pipes and buffers, and journal locks on two hosts; without a bound
 * a client could start them until the controller or the hosts give out.
 */
import { DockerMcpError } from '../errors.js';

export const MAX_CONCURRENT_MIGRATIONS = 4;

export class MigrationSlots {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(readonly limit: number) {}

  get active(): number {
    return this.running;
  }

  /** A slot now, or undefined when all are taken. Call the returned function once when done. */
  tryAcquire(): (() => void) | undefined {
    if (this.running >= this.limit) return undefined;
    this.running += 1;
    return this.releaser();
  }

  /** Wait for a slot, run `work` in it. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    const release = this.tryAcquire() ?? (await new Promise<() => void>((resolve) => this.waiting.push(() => resolve(this.releaser()))));
    try {
      return await work();
    } finally {
      release();
    }
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      // The slot passes straight to the next waiter, so none is lost to a race with tryAcquire.
      if (next) next();
      else this.running -= 1;
    };
  }
}

export const migrationSlots = new MigrationSlots(MAX_CONCURRENT_MIGRATIONS);

export class TooManyMigrationsError extends DockerMcpError {
  readonly kind = 'failed' as const;

  constructor(readonly limit: number) {
    super(`${limit} migrations are running in this server, the most it runs at once; nothing was done. Try again when one has finished.`);
  }
}
