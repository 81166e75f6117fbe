/**
 * The HTTP sessions one server keeps: at most `maxSessions`, counting those
 * still initializing, and each closed once idle (no request in flight) for
 * `idleMs`. Every session holds a server object and its state, so an
 * unbounded table lets any client that may connect exhaust memory. When the
 * table is full, a new session takes the place of the one idle longest:
 * real clients (the MCP Inspector, the SDK's `close()`) leave without a
 * DELETE, so refusing would lock every new client out until the idle timeout.
 */

export interface Closable {
  close(): Promise<void>;
}

interface Entry<Session> {
  readonly session: Session;
  lastUsed: number;
  inFlight: number;
}

/** A place in the table, taken before a session is built. */
export interface SessionSlot<Session> {
  /** The session got its id: it now counts as a session. */
  bind(id: string, session: Session): void;
  /** Initialization failed or ended without a session: give the place back. */
  release(): void;
}

export class SessionTable<Session extends Closable> {
  private readonly entries = new Map<string, Entry<Session>>();
  private reserved = 0;
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    readonly maxSessions: number,
    readonly idleMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.sweeper = setInterval(() => this.closeIdle(), Math.max(50, Math.min(idleMs / 4, 60_000)));
    this.sweeper.unref();
  }

  get size(): number {
    return this.entries.size;
  }

  /** A place for a new session, the idlest one closed to make room; undefined when every session is busy. */
  reserve(): SessionSlot<Session> | undefined {
    this.closeIdle();
    if (this.entries.size + this.reserved >= this.maxSessions && !this.closeIdlest()) return undefined;
    this.reserved += 1;
    let held = true;
    const giveBack = () => {
      if (held) this.reserved -= 1;
      held = false;
    };
    return {
      bind: (id, session) => {
        giveBack();
        this.entries.set(id, { session, lastUsed: this.now(), inFlight: 0 });
      },
      release: giveBack,
    };
  }

  /** The session, marked in use until the returned `done` is called; undefined when unknown or expired. */
  use(id: string): { session: Session; done: () => void } | undefined {
    const entry = this.entries.get(id);
    if (!entry) return undefined;
    entry.inFlight += 1;
    entry.lastUsed = this.now();
    let finished = false;
    return {
      session: entry.session,
      done: () => {
        if (finished) return;
        finished = true;
        entry.inFlight -= 1;
        entry.lastUsed = this.now();
      },
    };
  }

  delete(id: string): void {
    this.entries.delete(id);
  }

  async closeAll(): Promise<void> {
    clearInterval(this.sweeper);
    const sessions = [...this.entries.values()].map((entry) => entry.session);
    this.entries.clear();
    await Promise.all(sessions.map((session) => session.close()));
  }

  /** Close the session with no request in flight that was used longest ago; false when there is none. */
  private closeIdlest(): boolean {
    let idlest: [string, Entry<Session>] | undefined;
    for (const candidate of this.entries) {
      if (candidate[1].inFlight === 0 && (idlest === undefined || candidate[1].lastUsed < idlest[1].lastUsed)) idlest = candidate;
    }
    if (!idlest) return false;
    this.entries.delete(idlest[0]);
    void idlest[1].session.close().catch(() => undefined);
    return true;
  }

  private closeIdle(): void {
    const cutoff = this.now() - this.idleMs;
    for (const [id, entry] of this.entries) {
      if (entry.inFlight > 0 || entry.lastUsed > cutoff) continue;
      this.entries.delete(id);
      void entry.session.close().catch(() => undefined);
    }
  }
}
