/**
 * Progress of long operations, as one stream of events that the CLI (progress
 * lines) and MCP (progress notifications) both consume.
 */

export interface TransferProgress {
  readonly type: 'transfer-progress';
  readonly service: string;
  readonly bytesDone: number;
  /** Null when the host cannot estimate the stream's size. */
  readonly bytesTotal: number | null;
  readonly bytesPerSecond: number;
  readonly etaSeconds: number | null;
}

export interface TransferStep {
  readonly type: 'transfer-step';
  readonly service: string;
  readonly message: string;
}

/** A migration entering one of its phases (seed, stop, final-sync, start, verify ...). */
export interface MigrationPhase {
  readonly type: 'migration-phase';
  readonly phase: string;
  readonly message: string;
}

export type ProgressEvent = TransferProgress | TransferStep | MigrationPhase;
export type ProgressListener = (event: ProgressEvent) => void;

/** Counts bytes and turns them into rate and ETA, reporting at most every `intervalMs`. */
export class ProgressMeter {
  private bytes = 0;
  private lastReport = 0;
  private readonly started = Date.now();

  constructor(
    private readonly service: string,
    private readonly total: number | null,
    private readonly listener: ProgressListener,
    private readonly intervalMs = 500,
  ) {}

  get bytesDone(): number {
    return this.bytes;
  }

  add(count: number): void {
    this.bytes += count;
    const now = Date.now();
    if (now - this.lastReport >= this.intervalMs) {
      this.lastReport = now;
      this.report(now);
    }
  }

  finish(): void {
    this.report(Date.now());
  }

  private report(now: number): void {
    const seconds = Math.max((now - this.started) / 1000, 0.001);
    const rate = this.bytes / seconds;
    const remaining = this.total === null ? null : Math.max(this.total - this.bytes, 0);
    this.listener({
      type: 'transfer-progress',
      service: this.service,
      bytesDone: this.bytes,
      bytesTotal: this.total,
      bytesPerSecond: rate,
      etaSeconds: remaining === null || rate === 0 ? null : remaining / rate,
    });
  }
}

/**
 * Feed a meter from a tool's progress output (rsync --info=progress2, pv -n,
 * dd status=progress): lines split on \r or \n, each parsed to a running byte
 * total. Returns a function giving the last total seen.
 */
export function meterFromProgressLines(
  output: NodeJS.ReadableStream,
  parseTotal: (line: string) => number | null,
  meter: ProgressMeter,
): () => number {
  let total = 0;
  let pending = '';
  output.setEncoding('utf8');
  output.on('data', (chunk: string) => {
    pending += chunk;
    const lines = pending.split(/[\r\n]/);
    pending = lines.pop() ?? '';
    for (const line of lines) {
      const now = parseTotal(line);
      if (now !== null && now > total) {
        meter.add(now - total);
        total = now;
      }
    }
  });
  return () => total;
}
