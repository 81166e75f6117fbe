/** How every CLI command prints: JSON with --json, readable text otherwise. */

export interface OutputOptions {
  readonly json?: boolean;
}

export function emit<T>(result: T, options: OutputOptions, renderText: (result: T) => string): void {
  if (options.json) {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } else {
    const text = renderText(result);
    process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  }
}

/** A fixed-width table; columns sized to their widest cell. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((header, column) =>
    Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: readonly string[]) =>
    cells.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ').trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}
