// Builds dashboards from a short description: rows of panels laid out on
// Grafana's 24-column grid, every target on the `$datasource` variable.
import { type Dashboard, type DataSourceRef, type GridPos, type Panel, type PanelType, type RowPanel, SCHEMA_VERSION, type Target, type Variable } from './model.js';

export const DATASOURCE: DataSourceRef = { type: 'prometheus', uid: '${datasource}' };

export interface QuerySpec {
  readonly expr: string;
  readonly legend?: string;
  /** Instant queries (stat, table, bar gauge) ask for one value per series. */
  readonly instant?: boolean;
}

export interface PanelSpec {
  readonly type: PanelType;
  readonly title: string;
  readonly description: string;
  readonly queries: readonly QuerySpec[];
  readonly unit?: string;
  /** Width in grid columns (of 24); height in grid rows. */
  readonly w?: number;
  readonly h?: number;
  readonly thresholds?: readonly { readonly value: number | null; readonly color: string }[];
  readonly stacked?: boolean;
  readonly min?: number;
}

export interface RowSpec {
  readonly title: string;
  readonly panels: readonly PanelSpec[];
}

export interface DashboardSpec {
  readonly uid: string;
  readonly title: string;
  readonly description: string;
  readonly tags: readonly string[];
  readonly variables: readonly Variable[];
  readonly rows: readonly RowSpec[];
  readonly from?: string;
}

const REF_IDS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';

function target(q: QuerySpec, i: number, type: PanelType): Target {
  const instant = q.instant ?? type !== 'timeseries';
  return {
    refId: REF_IDS[i] ?? `Q${i}`,
    datasource: DATASOURCE,
    expr: q.expr,
    legendFormat: q.legend ?? '__auto',
    range: !instant,
    instant,
    ...(type === 'table' ? { format: 'table' as const } : {}),
  };
}

function options(spec: PanelSpec): Record<string, unknown> {
  const reduce = { reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false } };
  switch (spec.type) {
    case 'timeseries':
      return { legend: { displayMode: 'table', placement: 'bottom', showLegend: true, calcs: ['lastNotNull', 'max'] }, tooltip: { mode: 'multi', sort: 'desc' } };
    case 'stat':
      return { ...reduce, colorMode: 'value', graphMode: 'area', justifyMode: 'auto', orientation: 'auto', textMode: 'auto' };
    case 'gauge':
      return { ...reduce, showThresholdLabels: false, showThresholdMarkers: true };
    case 'bargauge':
      return { ...reduce, displayMode: 'gradient', orientation: 'horizontal', showUnfilled: true };
    case 'table':
      return { showHeader: true, cellHeight: 'sm', footer: { show: false, reducer: ['sum'], countRows: false } };
  }
}

function fieldDefaults(spec: PanelSpec): Record<string, unknown> {
  const thresholds = { mode: 'absolute', steps: spec.thresholds ?? [{ value: null, color: 'green' }] };
  const base: Record<string, unknown> = { unit: spec.unit ?? 'short', thresholds, color: { mode: spec.type === 'timeseries' ? 'palette-classic' : 'thresholds' } };
  if (spec.min !== undefined) base.min = spec.min;
  if (spec.type === 'timeseries') {
    base.custom = { drawStyle: 'line', lineWidth: 1, fillOpacity: spec.stacked ? 30 : 10, showPoints: 'never', spanNulls: false, stacking: { mode: spec.stacked ? 'normal' : 'none', group: 'A' } };
  }
  return base;
}

/** Lays rows out top to bottom, panels left to right, wrapping at 24 columns. */
export function dashboard(spec: DashboardSpec): Dashboard {
  const panels: (Panel | RowPanel)[] = [];
  let id = 1;
  let y = 0;
  for (const row of spec.rows) {
    panels.push({ id: id++, type: 'row', title: row.title, collapsed: false, gridPos: { x: 0, y, w: 24, h: 1 }, panels: [] });
    y += 1;
    let x = 0;
    let rowHeight = 0;
    for (const p of row.panels) {
      const w = p.w ?? (p.type === 'stat' ? 6 : 12);
      const h = p.h ?? (p.type === 'stat' ? 4 : 8);
      if (x + w > 24) {
        y += rowHeight;
        x = 0;
        rowHeight = 0;
      }
      const gridPos: GridPos = { x, y, w, h };
      panels.push({
        id: id++,
        type: p.type,
        title: p.title,
        description: p.description,
        gridPos,
        datasource: DATASOURCE,
        targets: p.queries.map((q, i) => target(q, i, p.type)),
        fieldConfig: { defaults: fieldDefaults(p), overrides: [] },
        options: options(p),
        ...(p.type === 'table' ? { transformations: [{ id: 'merge', options: {} }] } : {}),
      });
      x += w;
      rowHeight = Math.max(rowHeight, h);
    }
    y += rowHeight;
  }
  return {
    uid: spec.uid,
    title: spec.title,
    description: spec.description,
    tags: ['fleetscope', ...spec.tags],
    timezone: 'browser',
    editable: true,
    graphTooltip: 1,
    time: { from: spec.from ?? 'now-6h', to: 'now' },
    refresh: '1m',
    schemaVersion: SCHEMA_VERSION,
    version: 1,
    weekStart: '',
    fiscalYearStartMonth: 0,
    liveNow: false,
    links: [{ type: 'dashboards', tags: ['fleetscope'], asDropdown: true, title: 'fleetscope', includeVars: true, keepTime: true }],
    annotations: { list: [{ builtIn: 1, datasource: { type: 'grafana', uid: '-- Grafana --' }, enable: true, hide: true, iconColor: 'rgba(0, 211, 255, 1)', name: 'Annotations & Alerts', type: 'dashboard' }] },
    templating: { list: spec.variables },
    panels,
  };
}
