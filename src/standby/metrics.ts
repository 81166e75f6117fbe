/**
 * The standby status as Prometheus metrics, for `serve --http` (`/metrics`,
 * behind the same token as the MCP endpoint). Read afresh at each scrape from
 * standby.yml and the pass records: what `standby status` shows, as numbers
 * an alert rule can compare (lag against twice the interval, the last pass's
 * outcome).
 */
import { Gauge, Registry } from 'prom-client';
import { parseInterval } from './declarations.js';
import type { StandbyState, StandbyStatus } from './status.js';

const STATES: readonly StandbyState[] = ['ok', 'late', 'behind', 'failed', 'never', 'failed-over', 'fenced'];
const LABELS = ['host', 'stack', 'standby'] as const;

export interface MetricsPage {
  readonly contentType: string;
  render(): Promise<string>;
}

export function standbyMetrics(statuses: () => Promise<StandbyStatus[]>): MetricsPage {
  const registry = new Registry();
  const gauge = (name: string, help: string, labels: readonly string[] = LABELS) => new Gauge({ name, help, labelNames: labels, registers: [registry] });
  const declared = gauge('docker_mcp_standby_declared', 'Stacks with a standby declared in standby.yml', []);
  const interval = gauge('docker_mcp_standby_interval_seconds', 'How often the stack is due a pass (--every)');
  const confirmed = gauge('docker_mcp_standby_confirmed_timestamp_seconds', 'When the newest snapshot present on the standby for every dataset of the stack was taken (absent: never copied)');
  const lag = gauge('docker_mcp_standby_lag_seconds', 'Seconds since that snapshot: what losing the host would lose now (absent: never copied)');
  const state = gauge('docker_mcp_standby_state', '1 for the state the stack is in: ok, late (past its interval), behind (past twice it), failed (last pass), never (copied)', [...LABELS, 'state']);
  const lastOk = gauge('docker_mcp_standby_last_pass_success', '1 when the last pass succeeded, 0 when it failed (absent: none yet)');
  const lastBytes = gauge('docker_mcp_standby_last_pass_bytes', 'Bytes the last pass sent');
  const lastSeconds = gauge('docker_mcp_standby_last_pass_duration_seconds', 'How long the last pass took');
  const lastAt = gauge('docker_mcp_standby_last_pass_timestamp_seconds', 'When the last pass ended');

  return {
    contentType: registry.contentType,
    async render() {
      registry.resetMetrics();
      const rows = await statuses();
      declared.set(rows.length);
      for (const row of rows) {
        const labels = { host: row.host, stack: row.stack, standby: row.to };
        interval.set(labels, parseInterval(row.every) / 1000);
        for (const each of STATES) state.set({ ...labels, state: each }, row.state === each ? 1 : 0);
        if (row.confirmedAt !== null) confirmed.set(labels, Date.parse(row.confirmedAt) / 1000);
        if (row.lagSeconds !== null) lag.set(labels, row.lagSeconds);
        if (row.lastPassOk !== null) lastOk.set(labels, row.lastPassOk ? 1 : 0);
        if (row.lastPassBytes !== null) lastBytes.set(labels, row.lastPassBytes);
        if (row.lastPassSeconds !== null) lastSeconds.set(labels, row.lastPassSeconds);
        if (row.lastPassAt !== null) lastAt.set(labels, Date.parse(row.lastPassAt) / 1000);
      }
      return registry.metrics();
    },
  };
}
