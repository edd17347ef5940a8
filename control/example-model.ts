// An example git model (the layout of model.ts), for the README, the tests
// and the benchmark: tenants with groups, a component of a Deployment and a
// Service, and an optional component of N ConfigMaps to make sites heavy.
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export interface ExampleModelOptions {
  readonly tenants?: readonly string[];
  readonly groups?: readonly string[];
  /** ConfigMaps in the `bulk` component (0: no such component). */
  readonly bulkManifests?: number;
  /** Per group parameter overrides, keyed `<tenant>/<group>`. */
  readonly groupParams?: Record<string, Record<string, unknown>>;
  readonly webVersion?: string;
  readonly release?: string;
}

export function exampleModelFiles(o: ExampleModelOptions = {}): Record<string, string> {
  const tenants = o.tenants ?? ['acme'];
  const groups = o.groups ?? ['stores', 'depots'];
  const web = o.webVersion ?? '2.1.0';
  const bulk = o.bulkManifests ?? 0;
  const components = ['web', ...(bulk > 0 ? ['bulk'] : [])];
  const files: Record<string, string> = {};
  files['fleet.yml'] = [
    ...(o.release !== undefined ? [`release: ${JSON.stringify(o.release)}`] : []),
    'params: {replicas: 1, log_level: info}',
    'channels:',
    `  stable: {web: ${JSON.stringify(web)}${bulk > 0 ? ', bulk: "1.0.0"' : ''}}`,
    '',
  ].join('\n');
  for (const t of tenants) {
    files[`tenants/${t}.yml`] = `channel: stable\ncomponents: [${components.join(', ')}]\nparams: {log_level: warn}\n`;
    for (const g of groups) {
      const params = { ...(g === 'stores' ? { replicas: 2 } : {}), ...(o.groupParams?.[`${t}/${g}`] ?? {}) };
      files[`groups/${t}/${g}.yml`] = `params: ${JSON.stringify(params)}\nlabels: {re: eu-west-1}\n`;
    }
  }
  for (const v of new Set([web, '2.1.0'])) {
    files[`components/web/${v}/component.yml`] = `apply_mode: optimistic\nprepull_images: ["registry.example/web:${v}"]\nparams: {port: 8080}\n`;
    files[`components/web/${v}/deployment.yaml`] = [
      'apiVersion: apps/v1',
      'kind: Deployment',
      'metadata:',
      '  name: web',
      '  namespace: edge',
      '  labels: {site: "${site.name}", tenant: "${site.tenant}"}',
      'spec:',
      '  replicas: ${params.replicas}',
      '  selector: {matchLabels: {app: web}}',
      '  template:',
      '    metadata: {labels: {app: web}}',
      '    spec:',
      '      containers:',
      '        - name: web',
      '          image: registry.example/web:${component.version}',
      '          args: ["--log-level=${params.log_level}", "--port=${params.port}"]',
      '---',
      'apiVersion: v1',
      'kind: Service',
      'metadata: {name: web, namespace: edge}',
      'spec:',
      '  ports: [{port: "${params.port}"}]',
      '',
    ].join('\n');
  }
  if (bulk > 0) {
    files['components/bulk/1.0.0/component.yml'] = 'apply_mode: pessimistic\nparams: {}\n';
    for (let i = 0; i < bulk; i++) {
      files[`components/bulk/1.0.0/cm-${String(i).padStart(3, '0')}.yaml`] = [
        'apiVersion: v1',
        'kind: ConfigMap',
        `metadata: {name: settings-${i}, namespace: edge}`,
        'data:',
        '  site: "${site.name}"',
        '  group: "${site.group}"',
        '  level: "${params.log_level}"',
        '  replicas: "${params.replicas|string}"',
        `  index: "${i}"`,
        '',
      ].join('\n');
    }
  }
  return files;
}

/** Site declarations for the model: `sites/<tenant>/<group>.yml` with `count` sites each. */
export function exampleSites(tenant: string, group: string, count: number, prefix = `${tenant}-${group}-`): Record<string, string> {
  const lines = ['sites:'];
  for (let i = 0; i < count; i++) lines.push(`  - {name: ${prefix}${String(i).padStart(5, '0')}, group: ${group}, labels: {zone: z${i % 4}}}`);
  return { [`sites/${tenant}/${group}.yml`]: lines.join('\n') + '\n' };
}

function git(dir: string, ...args: string[]): string {
  return execFileSync('git', ['-C', dir, ...args], { encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_NAME: 'fleetscope', GIT_AUTHOR_EMAIL: 'ci@fleetscope.invalid', GIT_COMMITTER_NAME: 'fleetscope', GIT_COMMITTER_EMAIL: 'ci@fleetscope.invalid' } }).trim();
}

/** Creates an empty git repository (with a work tree) at `dir`. */
export function initRepo(dir: string): void {
  mkdirSync(dir, { recursive: true });
  execFileSync('git', ['init', '-q', '-b', 'main', dir]);
}

/** Replaces the model files of the work tree by `files`, commits, and returns the commit id. */
export function commitModel(dir: string, files: Record<string, string>, message: string): string {
  for (const top of ['fleet.yml', 'tenants', 'groups', 'sites', 'components']) rmSync(join(dir, top), { recursive: true, force: true });
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '--allow-empty', '-m', message);
  return git(dir, 'rev-parse', 'HEAD');
}
