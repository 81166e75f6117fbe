/** What each phase of a corpus test costs, printed at the end: the corpus's time is the suite's largest. */
export class Timings {
  private readonly rows: [string, number][] = [];

  async time<T>(label: string, work: () => Promise<T>): Promise<T> {
    const started = Date.now();
    try {
      return await work();
    } finally {
      this.rows.push([label, (Date.now() - started) / 1000]);
    }
  }

  /** A row measured elsewhere (a migration's own phases). */
  note(label: string, seconds: number): void {
    this.rows.push([label, seconds]);
  }

  report(title: string): string {
    return [`${title}:`, ...this.rows.map(([label, seconds]) => `  ${seconds.toFixed(1).padStart(6)} s  ${label}`)].join('\n');
  }
}
