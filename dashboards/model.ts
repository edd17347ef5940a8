// The part of Grafana's dashboard JSON model (schemaVersion 39, Grafana 10.x
// and 11.x) that fleetscope's dashboards use.
// See https://grafana.com/docs/grafana/latest/dashboards/build-dashboards/view-dashboard-json-model/

export const SCHEMA_VERSION = 39;

export interface DataSourceRef {
  readonly type: 'prometheus';
  readonly uid: string;
}

export interface Target {
  readonly refId: string;
  readonly datasource: DataSourceRef;
  readonly expr: string;
  readonly legendFormat: string;
  readonly range: boolean;
  readonly instant: boolean;
  readonly format?: 'time_series' | 'table';
}

export interface GridPos {
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
}

export type PanelType = 'timeseries' | 'stat' | 'table' | 'bargauge' | 'gauge';

export interface Panel {
  readonly id: number;
  readonly type: PanelType;
  readonly title: string;
  readonly description: string;
  readonly gridPos: GridPos;
  readonly datasource: DataSourceRef;
  readonly targets: readonly Target[];
  readonly fieldConfig: { readonly defaults: Record<string, unknown>; readonly overrides: readonly unknown[] };
  readonly options: Record<string, unknown>;
  readonly transformations?: readonly unknown[];
}

export interface RowPanel {
  readonly id: number;
  readonly type: 'row';
  readonly title: string;
  readonly collapsed: false;
  readonly gridPos: GridPos;
  readonly panels: readonly [];
}

export interface DatasourceVariable {
  readonly type: 'datasource';
  readonly name: string;
  readonly label: string;
  readonly query: 'prometheus';
  readonly regex: string;
  readonly refresh: 1;
  readonly hide: 0;
  readonly current: Record<string, never>;
  readonly options: readonly [];
}

export interface QueryVariable {
  readonly type: 'query';
  readonly name: string;
  readonly label: string;
  readonly datasource: DataSourceRef;
  readonly definition: string;
  readonly query: { readonly query: string; readonly refId: string };
  /** 2: refresh on time range change. */
  readonly refresh: 2;
  readonly multi: boolean;
  readonly includeAll: boolean;
  readonly allValue?: string;
  readonly sort: 1;
  readonly hide: 0;
  readonly regex: string;
  readonly current: Record<string, never>;
  readonly options: readonly [];
}

export type Variable = DatasourceVariable | QueryVariable;

export interface Dashboard {
  readonly uid: string;
  readonly title: string;
  readonly description: string;
  readonly tags: readonly string[];
  readonly timezone: 'browser';
  readonly editable: boolean;
  readonly graphTooltip: 1;
  readonly time: { readonly from: string; readonly to: string };
  readonly refresh: string;
  readonly schemaVersion: number;
  readonly version: number;
  readonly weekStart: '';
  readonly fiscalYearStartMonth: 0;
  readonly liveNow: false;
  readonly links: readonly unknown[];
  readonly annotations: { readonly list: readonly unknown[] };
  readonly templating: { readonly list: readonly Variable[] };
  readonly panels: readonly (Panel | RowPanel)[];
}
