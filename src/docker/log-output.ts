/**
 * How much log output one call may hold: logs are of unknown size (a chatty
 * container writes gigabytes), so only the last MAX_LOG_BYTES are kept, and
 * the result says so when the start was cut.
 */
export const MAX_LOG_BYTES = 4 * 1024 * 1024;

export interface BoundedLog {
  readonly text: string;
  /** The start of the output was cut to stay within MAX_LOG_BYTES. */
  readonly truncated: boolean;
  readonly note?: string;
}

/** The kept output, starting at a whole line when it was cut. */
export function boundedLog(kept: string, truncated: boolean): BoundedLog {
  if (!truncated) return { text: kept, truncated: false };
  const firstLineEnd = kept.indexOf('\n');
  const text = firstLineEnd >= 0 && firstLineEnd < kept.length - 1 ? kept.slice(firstLineEnd + 1) : kept;
  return {
    text,
    truncated: true,
    note: `only the last ${MAX_LOG_BYTES / (1024 * 1024)} MiB of log output are shown; ask for fewer lines (tail) or follow the logs (docker-mcp containers logs --follow) to see more`,
  };
}
