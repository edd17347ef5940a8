// `fleetscope control`: the GitOps control plane and its tools.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generateTokenKeys, tokenPrivateKey } from '../wire/index.js';
import { ControlError, ControlPlane, ModelLoader, buildServer, createRegistrationToken, generateTenantCa, loadControlConfig, parseDuration, readModel, type ControlConfig, type FleetStatus } from '../control/index.js';
import { type Command, type Io, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, parseOptions, untilStopSignal } from './command.js';

const help = `Usage: fleetscope control --config FILE.yml [--store URL] [--listen HOST:PORT]
       fleetscope control --check-config FILE.yml
       fleetscope control load --repo PATH|URL [--ref REF] [--config FILE.yml | --url URL --token T]
       fleetscope control render --site NAME [--repo PATH|URL --ref REF] [--config FILE.yml]
       fleetscope control status [--config FILE.yml | --url URL --token T] [--json]
       fleetscope control token create --tenant T [--ttl 24h] [--single-use] (--key FILE | --config FILE.yml)
       fleetscope control keys generate --dir DIR [--tenant T ...]

Runs the GitOps control plane: the git model loaded at a commit with git,
rendered per site into <tenant>/<site>/<version>/manifests.yaml (in a
directory, or with artifacts.s3 in any S3-compatible store), zero-touch
registration (token + CSR, approved by an operator, signed by the tenant's
CA), desired versions with ETag/long-poll/server-sent events, status
reports, staged rollouts and fleet status, over HTTP (default 0.0.0.0:9300).
State lives in a local durable store (a directory) or, with --store
etcd://host:port, in etcd shared by several replicas.

  load      loads the model at REF (default: the config's git.ref) and renders
            the sites whose inputs changed. With --url it asks a running control
            plane; with --config it writes the store directly; with neither it
            only validates the commit (exit 2 naming file, path and reason).
  render    prints the manifests a site would receive, for review.
  status    fleet counts by state, tenant and version, and the failures.
  token     mints a registration token (signed with the token private key).
  keys      writes token.key/token.pub (Ed25519) and ca/<tenant>.{key,crt}.pem.

Options:
  --config FILE      the control plane's config (control/README.md)
  --check-config F   validate a config and exit
  --store URL        override the config's store (a directory or etcd://host:port)
  --listen HOST:PORT override the config's listen address
  --repo, --ref      git repository (path or URL) and ref
  --url, --token     a running control plane and an operator token (or FLEETSCOPE_TOKEN)
  --site NAME        the site to render
  --tenant T         tenant of a token; tenants to make CAs for
  --ttl DURATION     registration token lifetime, e.g. 24h (default: none)
  --single-use       the token registers one machine only
  --key FILE         token private key (PEM)
  --dir DIR          where keys are written
  --json             machine-readable output
  -h, --help         this help
`;

function fail(io: Io, err: unknown): number {
  if (err instanceof ControlError) {
    io.stderr.write(`fleetscope control: ${err.code}: ${err.message}\n`);
    return err.status >= 500 ? EXIT_FAILURE : EXIT_USAGE;
  }
  io.stderr.write(`fleetscope control: ${(err as Error).message}\n`);
  return EXIT_FAILURE;
}

async function remote(url: string, token: string | undefined, method: string, path: string, body?: unknown): Promise<unknown> {
  const t = token ?? process.env.FLEETSCOPE_TOKEN;
  if (!t) throw new Error('--token (or FLEETSCOPE_TOKEN) is required with --url');
  const res = await fetch(new URL(path, url), { method, headers: { authorization: `Bearer ${t}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  const text = await res.text();
  const parsed = text ? (JSON.parse(text) as { code?: string; message?: string }) : {};
  if (!res.ok) throw new Error(`${res.status} ${parsed.code ?? ''}: ${parsed.message ?? text}`);
  return parsed;
}

function formatStatus(s: FleetStatus): string {
  const row = (name: string, c: Record<string, number>): string => `${name.padEnd(28)} ${String(c.healthy).padStart(7)} ${String(c.unhealthy).padStart(9)} ${String(c.offline).padStart(7)} ${String(c.upgrading).padStart(9)}`;
  const lines = [`sites: ${s.total}`, `${''.padEnd(28)} healthy unhealthy offline upgrading`, row('all', s.by_state)];
  for (const [t, c] of Object.entries(s.by_tenant)) lines.push(row(`tenant ${t}`, c));
  for (const [g, c] of Object.entries(s.by_group)) lines.push(row(`group ${g}`, c));
  for (const [v, c] of Object.entries(s.by_version)) lines.push(row(`version ${v}`, c));
  if (s.failures.length > 0) {
    lines.push('', 'failures:');
    for (const f of s.failures) lines.push(`  ${f.site} ${f.version} ${f.at} ${f.reason}`);
  }
  return lines.join('\n') + '\n';
}

async function serve(config: ControlConfig, opts: { store?: string; listen?: string }, io: Io): Promise<number> {
  const cp = await ControlPlane.open(config, opts.store !== undefined ? { storeUrl: opts.store } : {});
  cp.start();
  const app = await buildServer(cp, { logger: true });
  const listen = opts.listen ?? config.listen;
  const i = listen.lastIndexOf(':');
  await app.listen({ host: listen.slice(0, i) || '0.0.0.0', port: Number(listen.slice(i + 1)) });
  io.stderr.write(`fleetscope control: listening on ${listen}, store ${opts.store ?? config.store}\n`);
  await untilStopSignal();
  await app.close();
  await cp.close();
  return EXIT_OK;
}

export const controlCommand: Command = {
  name: 'control',
  help,
  async run(args, io) {
    const sub = args[0] !== undefined && !args[0].startsWith('-') ? args[0] : null;
    const rest = sub === null ? args : args.slice(sub === 'token' || sub === 'keys' ? 2 : 1);
    if ((sub === 'token' && args[1] !== 'create') || (sub === 'keys' && args[1] !== 'generate')) {
      io.stderr.write(`fleetscope control: "${args.slice(0, 2).join(' ')}" is not a command\n\n${help}`);
      return EXIT_USAGE;
    }
    const opts = parseOptions('control', help, rest, {
      config: { type: 'string' }, 'check-config': { type: 'string' }, store: { type: 'string' }, listen: { type: 'string' },
      repo: { type: 'string' }, ref: { type: 'string' }, url: { type: 'string' }, token: { type: 'string' }, site: { type: 'string' },
      tenant: { type: 'string', multiple: true }, ttl: { type: 'string' }, 'single-use': { type: 'boolean' }, key: { type: 'string' }, dir: { type: 'string' }, json: { type: 'boolean' },
    }, io);
    if (opts === null) return EXIT_USAGE;
    const usage = (msg: string): number => {
      io.stderr.write(`fleetscope control: ${msg}\n\n${help}`);
      return EXIT_USAGE;
    };
    try {
      switch (sub) {
        case null: {
          const file = opts['check-config'] ?? opts.config;
          if (file === undefined) return usage('--config FILE.yml is required');
          const config = await loadControlConfig(file);
          if (opts['check-config'] !== undefined) {
            io.stdout.write(`${file}: valid (store ${config.store}, ${config.operators.length} operators)\n`);
            return EXIT_OK;
          }
          return await serve(config, { ...(opts.store !== undefined ? { store: opts.store } : {}), ...(opts.listen !== undefined ? { listen: opts.listen } : {}) }, io);
        }
        case 'load': {
          if (opts.url !== undefined) {
            const out = await remote(opts.url, opts.token, 'POST', '/api/v1/model/load', { ...(opts.repo !== undefined ? { repo: opts.repo } : {}), ...(opts.ref !== undefined ? { ref: opts.ref } : {}) });
            io.stdout.write(`${JSON.stringify(out)}\n`);
            return EXIT_OK;
          }
          if (opts.config === undefined) {
            if (opts.repo === undefined) return usage('load needs --repo (and --config or --url to store what it renders)');
            const model = await readModel(opts.repo, opts.ref ?? 'HEAD', { cacheDir: join(process.cwd(), '.fleetscope-git'), root: '' });
            io.stdout.write(`${opts.repo}@${model.commit.slice(0, 12)}: valid, release ${model.release}: ${model.tenants.size} tenants, ${model.groups.size} groups, ${model.sites.size} declared sites, ${model.components.size} component versions\n`);
            return EXIT_OK;
          }
          const config = await loadControlConfig(opts.config);
          const cp = await ControlPlane.open(config, opts.store !== undefined ? { storeUrl: opts.store } : {});
          try {
            const out = await cp.load(opts.repo, opts.ref);
            io.stdout.write(`${JSON.stringify(out)}\n`);
          } finally {
            await cp.close();
          }
          return EXIT_OK;
        }
        case 'render': {
          if (opts.site === undefined) return usage('render needs --site NAME');
          let repo = opts.repo;
          let ref = opts.ref ?? 'HEAD';
          let identity: Parameters<typeof ModelLoader.preview>[2] = opts.site;
          let cacheDir = join(process.cwd(), '.fleetscope-git');
          let root = '';
          if (opts.config !== undefined) {
            const config = await loadControlConfig(opts.config);
            repo ??= config.git.repo;
            ref = opts.ref ?? config.git.ref;
            cacheDir = config.git.cache_dir;
            root = config.git.path;
            const cp = await ControlPlane.open(config, opts.store !== undefined ? { storeUrl: opts.store } : {});
            try {
              const rec = cp.state.value<{ site: string; tenant: string; group: string; labels: Record<string, string> }>(`sites/${opts.site}`);
              if (rec) identity = { name: rec.site, tenant: rec.tenant, group: rec.group, labels: rec.labels };
            } finally {
              await cp.close();
            }
          }
          if (repo === undefined) return usage('render needs --repo (or a --config with git.repo)');
          const out = await ModelLoader.preview(repo, ref, identity, { cacheDir, root });
          io.stdout.write(out.text);
          io.stderr.write(`# site ${opts.site}, release ${out.release}, checksum ${out.checksum}\n`);
          return EXIT_OK;
        }
        case 'status': {
          let s: FleetStatus;
          if (opts.url !== undefined) s = (await remote(opts.url, opts.token, 'GET', '/api/v1/fleet/status')) as FleetStatus;
          else {
            if (opts.config === undefined) return usage('status needs --config or --url');
            const cp = await ControlPlane.open(await loadControlConfig(opts.config), opts.store !== undefined ? { storeUrl: opts.store } : {});
            try {
              s = cp.fleetStatus();
            } finally {
              await cp.close();
            }
          }
          io.stdout.write(opts.json ? `${JSON.stringify(s, null, 2)}\n` : formatStatus(s));
          return EXIT_OK;
        }
        case 'token': {
          const tenant = opts.tenant?.[0];
          if (tenant === undefined || (opts.tenant?.length ?? 0) > 1) return usage('token create needs exactly one --tenant');
          const keyFile = opts.key ?? (opts.config !== undefined ? (await loadControlConfig(opts.config)).keys.token_private_key : undefined);
          if (keyFile === undefined) return usage('token create needs --key FILE or --config FILE.yml');
          let ttlMs: number | undefined;
          if (opts.ttl !== undefined) {
            const d = parseDuration(opts.ttl);
            if (d === null || d === 0) return usage(`--ttl ${opts.ttl} is not a duration like 24h`);
            ttlMs = d;
          }
          const key = tokenPrivateKey(await readFile(keyFile, 'utf8'));
          io.stdout.write(`${createRegistrationToken(key, tenant, { ...(ttlMs !== undefined ? { ttlMs } : {}), singleUse: opts['single-use'] === true })}\n`);
          return EXIT_OK;
        }
        case 'keys': {
          if (opts.dir === undefined) return usage('keys generate needs --dir DIR');
          await mkdir(join(opts.dir, 'ca'), { recursive: true });
          const keys = generateTokenKeys();
          await writeFile(join(opts.dir, 'token.key'), keys.privateKeyPem, { mode: 0o600, flag: 'wx' });
          await writeFile(join(opts.dir, 'token.pub'), keys.publicKeyPem, { flag: 'wx' });
          const written = ['token.key', 'token.pub'];
          for (const t of opts.tenant ?? []) {
            const ca = await generateTenantCa(t);
            await writeFile(join(opts.dir, 'ca', `${t}.key.pem`), ca.key_pem, { mode: 0o600, flag: 'wx' });
            await writeFile(join(opts.dir, 'ca', `${t}.crt.pem`), ca.cert_pem, { flag: 'wx' });
            written.push(`ca/${t}.key.pem`, `ca/${t}.crt.pem`);
          }
          io.stdout.write(`wrote ${written.map((w) => join(opts.dir as string, w)).join(', ')}\n`);
          return EXIT_OK;
        }
        default:
          return usage(`unknown subcommand "${sub}"`);
      }
    } catch (err) {
      return fail(io, err);
    }
  },
};
