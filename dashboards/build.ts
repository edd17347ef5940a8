// All of fleetscope's dashboards, built, and the files `fleetscope
// dashboards build` writes: one JSON file per dashboard and a Grafana
// provisioning file that loads them.
// See https://grafana.com/docs/grafana/latest/administration/provisioning/#dashboards
import { mkdir, writeFile } from 'node:fs/promises';
import { resolve, join } from 'node:path';
import yaml from 'js-yaml';
import { dashboard, type DashboardSpec } from './builder.js';
import type { Dashboard } from './model.js';
import { alerting } from './boards/alerting.js';
import { collectorPipeline } from './boards/collector-pipeline.js';
import { fleetOverview } from './boards/fleet-overview.js';
import { logsPath } from './boards/logs-path.js';
import { siteDrillDown } from './boards/site.js';
import { upgrades } from './boards/upgrades.js';

export const DASHBOARD_SPECS: readonly DashboardSpec[] = [fleetOverview, siteDrillDown, collectorPipeline, logsPath, alerting, upgrades];

export interface BuiltDashboard {
  /** The file name it is written to, e.g. `fleetscope-fleet.json`. */
  readonly file: string;
  readonly dashboard: Dashboard;
}

export function buildDashboards(): BuiltDashboard[] {
  return DASHBOARD_SPECS.map((spec) => ({ file: `${spec.uid}.json`, dashboard: dashboard(spec) }));
}

export const PROVISIONING_FILE = 'fleetscope-dashboards.yaml';

/** Grafana's dashboard provider config, pointing at `path` (where Grafana will find the JSON files). */
export function provisioningYaml(path: string, folder = 'fleetscope'): string {
  return yaml.dump({
    apiVersion: 1,
    providers: [{
      name: 'fleetscope',
      orgId: 1,
      folder,
      type: 'file',
      disableDeletion: false,
      allowUiUpdates: false,
      updateIntervalSeconds: 60,
      options: { path, foldersFromFilesStructure: false },
    }],
  }, { lineWidth: 120 });
}

export interface WriteOptions {
  readonly outDir: string;
  /** The directory as Grafana sees it (a container mount, say); the absolute outDir by default. */
  readonly provisioningPath?: string;
  readonly folder?: string;
}

/** Writes every dashboard and the provisioning file; returns the paths written. */
export async function writeDashboards(opts: WriteOptions): Promise<string[]> {
  const out = resolve(opts.outDir);
  await mkdir(out, { recursive: true });
  const written: string[] = [];
  for (const b of buildDashboards()) {
    const path = join(out, b.file);
    await writeFile(path, `${JSON.stringify(b.dashboard, null, 2)}\n`);
    written.push(path);
  }
  const prov = join(out, PROVISIONING_FILE);
  await writeFile(prov, provisioningYaml(opts.provisioningPath ?? out, opts.folder));
  written.push(prov);
  return written;
}
