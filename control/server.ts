// The HTTP API of the top README's contract §2 on fastify. Every call is authenticated:
// operator tokens (role viewer: reads; operator: writes) from the config,
// registration tokens for registration calls, site tokens afterwards. A site
// reads only its own desired version and artifacts and writes only its own
// status; a token of another tenant or site is refused. Errors are
// `{code, message}` with the registry's status.
import { readFile } from 'node:fs/promises';
import type { Server as TlsServer, TLSSocket } from 'node:tls';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { ControlPlane } from './control.js';
import { ControlError } from './errors.js';
import { fleetPageHook, type FleetPageHook } from './fleet-page-hook.js';
import { ControlMetrics } from './metrics.js';
import { NAME, loadBody, parseBody } from './requests.js';

export interface ServerOptions {
  /** Overrides the hook in fleet-page-hook.ts (tests). */
  readonly fleetPage?: FleetPageHook | null;
  readonly logger?: boolean;
}

function bearer(req: FastifyRequest): string | null {
  const h = req.headers.authorization;
  if (typeof h !== 'string') return null;
  const m = /^Bearer\s+(\S+)$/i.exec(h);
  return m ? (m[1] as string) : null;
}

function send(reply: FastifyReply, err: ControlError): FastifyReply {
  return reply.code(err.status).send({ code: err.code, message: err.message });
}

/** Sites are in name order; a page starts after the name its `continue` token holds (stable while sites come and go). */
export const MAX_PAGE = 5000;

export function pageOf<T extends { site: string }>(all: readonly T[], limitText: string | undefined, token: string | undefined): { items: T[]; next: string | null } {
  let limit = Infinity;
  if (limitText !== undefined) {
    if (!/^\d{1,5}$/.test(limitText) || Number(limitText) < 1 || Number(limitText) > MAX_PAGE) throw new ControlError('FS_CONTROL_BAD_REQUEST', [`limit: an integer from 1 to ${MAX_PAGE}, not "${limitText}"`]);
    limit = Number(limitText);
  }
  let start = 0;
  if (token !== undefined) {
    const after = Buffer.from(token, 'base64url').toString('utf8');
    if (!NAME.test(after) || Buffer.from(after, 'utf8').toString('base64url') !== token) throw new ControlError('FS_CONTROL_BAD_REQUEST', ['continue: not a token this API gave']);
    let lo = 0;
    let hi = all.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((all[mid] as T).site <= after) lo = mid + 1;
      else hi = mid;
    }
    start = lo;
  }
  const items = all.slice(start, start + limit);
  const last = items[items.length - 1];
  return { items, next: start + items.length < all.length && last ? Buffer.from(last.site, 'utf8').toString('base64url') : null };
}

export async function buildServer(cp: ControlPlane, opts: ServerOptions = {}): Promise<FastifyInstance> {
  const limits = cp.config.limits;
  const tls = cp.config.tls;
  const secure = async (): Promise<{ cert: string; key: string; ca: string[] }> => {
    const ca = await cp.tenantCaCertificates();
    return { cert: await readFile((tls as { cert: string }).cert, 'utf8'), key: await readFile((tls as { key: string }).key, 'utf8'), ca };
  };
  // With TLS, a client certificate is asked for but not required: registration and operators use tokens.
  const app = (tls
    ? Fastify({ logger: opts.logger ?? false, bodyLimit: limits.max_body_bytes, return503OnClosing: true, https: { ...(await secure()), requestCert: true, rejectUnauthorized: false } })
    : Fastify({ logger: opts.logger ?? false, bodyLimit: limits.max_body_bytes, return503OnClosing: true })) as unknown as FastifyInstance;
  if (tls) {
    // A tenant CA made after start (on its first approval) must be trusted at once.
    let known = (await cp.tenantCaCertificates()).length;
    const stop = cp.state.onChange((key) => {
      if (!key.startsWith('ca/')) return;
      void secure().then((ctx) => {
        if (ctx.ca.length === known) return;
        known = ctx.ca.length;
        (app.server as unknown as TlsServer).setSecureContext(ctx);
      });
    });
    app.addHook('onClose', async () => stop());
  }
  const metrics = new ControlMetrics(cp);
  let streams = 0;
  // Event streams and long-polls hold their connection open; closing the
  // server ends them first (a long-poll answers 304, a stream ends), so a
  // replica stops at once and its agents poll another one.
  const holding = new Set<AbortController>();
  const hold = (req: FastifyRequest): AbortController => {
    const ac = new AbortController();
    holding.add(ac);
    const onClose = (): void => ac.abort();
    req.raw.once('close', onClose);
    ac.signal.addEventListener('abort', () => {
      holding.delete(ac);
      req.raw.off('close', onClose);
    }, { once: true });
    return ac;
  };
  app.addHook('preClose', async () => {
    for (const ac of [...holding]) ac.abort();
  });

  app.setErrorHandler((err, _req, reply) => {
    if (err instanceof ControlError) return send(reply, err);
    const status = (err as { statusCode?: number }).statusCode ?? 500;
    const code = (err as { code?: string }).code ?? '';
    if (status === 413) return send(reply, new ControlError('FS_CONTROL_TOO_LARGE', [`request body over ${limits.max_body_bytes} bytes`]));
    if (status === 415) return send(reply, new ControlError('FS_CONTROL_UNSUPPORTED_MEDIA_TYPE', ['send application/json']));
    if (status >= 400 && status < 500) return send(reply, new ControlError('FS_CONTROL_BAD_REQUEST', [`${code ? `${code}: ` : ''}${(err as Error).message}`]));
    app.log.error(err);
    return send(reply, new ControlError('FS_CONTROL_INTERNAL', ['see the control plane log']));
  });
  app.setNotFoundHandler((req, reply) => send(reply, new ControlError('FS_CONTROL_NOT_FOUND', [`no route ${req.method} ${req.url.split('?')[0]}`])));
  app.addHook('onResponse', async (req, reply) => {
    metrics.requests.inc({ route: req.routeOptions.url ?? 'unknown', code: String(reply.statusCode) });
  });

  const viewer = (req: FastifyRequest): void => {
    if (!cp.operator(bearer(req))) {
      metrics.authFailures.inc({ reason: 'operator_token' });
      throw new ControlError('FS_CONTROL_UNAUTHORIZED', ['an operator token is required']);
    }
  };
  const operator = (req: FastifyRequest): void => {
    const op = cp.operator(bearer(req));
    if (!op) {
      metrics.authFailures.inc({ reason: 'operator_token' });
      throw new ControlError('FS_CONTROL_UNAUTHORIZED', ['an operator token is required']);
    }
    if (op.role !== 'operator') {
      metrics.authFailures.inc({ reason: 'role' });
      throw new ControlError('FS_CONTROL_FORBIDDEN', [`operator ${op.name} has role viewer; this needs role operator`]);
    }
  };
  /** The site itself (its site token or certificate): true; or an operator for reads when `operatorMayRead`: false. */
  const siteOrViewer = (req: FastifyRequest, site: string, operatorMayRead: boolean): boolean => {
    const token = bearer(req);
    let id = cp.siteAuth(token);
    if (!id && token === null && tls) {
      const sock = req.raw.socket as TLSSocket;
      if (sock.authorized) id = cp.siteAuthByCertificate(sock.getPeerCertificate() as unknown as { subject?: Record<string, string>; serialNumber?: string; raw?: Buffer; fingerprint256?: string });
    }
    if (id) {
      if (id.site !== site) {
        metrics.authFailures.inc({ reason: 'other_site' });
        throw new ControlError('FS_CONTROL_FORBIDDEN', [`a token of site ${id.site} cannot act for site ${site}`]);
      }
      return true;
    }
    if (operatorMayRead && cp.operator(token)) return false;
    metrics.authFailures.inc({ reason: 'site_token' });
    throw new ControlError('FS_CONTROL_UNAUTHORIZED', ['a valid site token is required']);
  };
  const siteParam = (req: FastifyRequest): string => {
    const s = (req.params as { site: string }).site;
    if (!NAME.test(s)) throw new ControlError('FS_CONTROL_BAD_REQUEST', [`"${s}" is not a site name`]);
    return s;
  };
  const query = (req: FastifyRequest): Record<string, string> => {
    const q = req.query as Record<string, unknown>;
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(q)) if (typeof v === 'string') out[k] = v.slice(0, 256);
    return out;
  };

  // ---- health, metrics ----
  app.get('/-/healthy', async () => ({ status: 'ok' }));
  app.get('/-/ready', async () => ({ status: 'ok' }));
  app.get('/metrics', async (_req, reply) => reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()));

  // ---- site-facing ----
  app.post('/api/v1/register', async (req, reply) => reply.code(202).send(await cp.register(bearer(req), req.body)));
  app.get('/api/v1/registrations/:id', async (req) => {
    const id = (req.params as { id: string }).id;
    if (cp.operator(bearer(req))) {
      const r = cp.listRegistrations().find((x) => x.registration_id === id);
      if (!r) throw new ControlError('FS_CONTROL_NOT_FOUND', [`no registration ${id}`]);
      return r;
    }
    return cp.registrationFor(bearer(req), id);
  });

  app.get('/api/v1/sites/:site/desired', async (req, reply) => {
    const site = siteParam(req);
    // Only the site's own polls count as it being seen, not an operator looking.
    const isSite = siteOrViewer(req, site, true);
    if (isSite) cp.markSeen(site);
    const q = query(req);
    let wait = 0;
    if (q.wait !== undefined) {
      wait = Number(q.wait);
      if (!Number.isInteger(wait) || wait < 0 || wait > limits.max_wait_s) throw new ControlError('FS_CONTROL_BAD_REQUEST', [`wait must be a whole number of seconds from 0 to ${limits.max_wait_s}`]);
    }
    const inm = req.headers['if-none-match'];
    let view = cp.desiredView(site);
    if (wait > 0 && inm === ControlPlane.etag(view)) {
      const ac = hold(req);
      metrics.longPolls.inc();
      try {
        const deadline = Date.now() + wait * 1000;
        while (inm === ControlPlane.etag(view) && Date.now() < deadline && !ac.signal.aborted) {
          await cp.waitForChange(site, deadline - Date.now(), ac.signal);
          view = cp.desiredView(site);
        }
      } finally {
        metrics.longPolls.dec();
        ac.abort();
      }
    }
    const etag = ControlPlane.etag(view);
    void reply.header('ETag', etag).header('Cache-Control', 'no-cache');
    if (inm === etag) {
      metrics.polls.inc({ result: 'not_modified' });
      return reply.code(304).send();
    }
    if (!view) {
      metrics.polls.inc({ result: 'none' });
      throw new ControlError('FS_CONTROL_NO_VERSION', [site, 'no model loaded or no version given yet']);
    }
    metrics.polls.inc({ result: 'changed' });
    return view;
  });

  const sse = (reply: FastifyReply): void => {
    reply.hijack();
    reply.raw.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
  };
  const reserveStream = (): void => {
    if (streams >= limits.max_event_streams) throw new ControlError('FS_CONTROL_UNAVAILABLE', [`${streams} event streams open, the limit`]);
    streams++;
    metrics.eventStreams.set(streams);
  };
  const releaseStream = (): void => {
    streams--;
    metrics.eventStreams.set(streams);
  };

  app.get('/api/v1/sites/:site/events', async (req, reply) => {
    const site = siteParam(req);
    const isSite = siteOrViewer(req, site, true);
    reserveStream();
    if (isSite) cp.markSeen(site);
    sse(reply);
    const ac = hold(req);
    let last = '';
    const push = (): void => {
      const view = cp.desiredView(site);
      const etag = ControlPlane.etag(view);
      if (etag !== last && view) reply.raw.write(`event: desired\nid: ${etag}\ndata: ${JSON.stringify(view)}\n\n`);
      last = etag;
    };
    push();
    void (async () => {
      try {
        while (!ac.signal.aborted) {
          await cp.waitForChange(site, 25_000, ac.signal);
          // A decommissioned or reset site's stream ends: its token no longer works.
          if (ac.signal.aborted || !cp.siteExists(site)) break;
          if (isSite) cp.markSeen(site);
          const before = last;
          push();
          if (before === last) reply.raw.write(': keepalive\n\n');
        }
      } finally {
        ac.abort();
        releaseStream();
        reply.raw.end();
      }
    })();
  });

  app.get('/api/v1/sites/:site/artifacts/:version/manifests.yaml', async (req, reply) => {
    const site = siteParam(req);
    siteOrViewer(req, site, true);
    const version = (req.params as { version: string }).version;
    if (!NAME.test(version)) throw new ControlError('FS_CONTROL_BAD_REQUEST', [`"${version}" is not a version`]);
    return reply.type('application/yaml; charset=utf-8').send(await cp.artifact(site, version));
  });

  app.post('/api/v1/sites/:site/status', async (req, reply) => {
    const site = siteParam(req);
    siteOrViewer(req, site, false);
    await cp.report(site, req.body);
    metrics.reports.inc({ state: String((req.body as { state?: unknown }).state) });
    return reply.code(204).send();
  });

  // ---- operator-facing ----
  app.get('/api/v1/registrations', async (req) => {
    viewer(req);
    return { registrations: cp.listRegistrations(query(req).state) };
  });
  app.post('/api/v1/registrations/:id/approve', async (req) => {
    operator(req);
    return cp.approve((req.params as { id: string }).id, req.body);
  });
  app.post('/api/v1/registrations/:id/reject', async (req, reply) => {
    operator(req);
    await cp.reject((req.params as { id: string }).id, req.body);
    return reply.code(204).send();
  });
  app.get('/api/v1/sites', async (req) => {
    viewer(req);
    const q = query(req);
    const all = cp.listSites({ ...(q.tenant ? { tenant: q.tenant } : {}), ...(q.group ? { group: q.group } : {}), ...(q.state ? { state: q.state } : {}), ...(q.q ? { q: q.q } : {}) });
    const page = pageOf(all, q.limit, q.continue);
    return { sites: page.items, ...(page.next !== null ? { continue: page.next } : {}) };
  });
  app.get('/api/v1/sites/:site/detail', async (req) => {
    viewer(req);
    return cp.siteDetail(siteParam(req));
  });
  app.post('/api/v1/sites/:site/decommission', async (req, reply) => {
    operator(req);
    await cp.decommission(siteParam(req));
    return reply.code(204).send();
  });
  app.post('/api/v1/sites/:site/factory-reset', async (req, reply) => {
    operator(req);
    await cp.factoryReset(siteParam(req));
    return reply.code(204).send();
  });
  app.get('/api/v1/fleet/status', async (req) => {
    viewer(req);
    return cp.fleetStatus();
  });
  app.get('/api/v1/model', async (req) => {
    viewer(req);
    const s = cp.fleetStatus();
    return { current: s.model, last_error: s.model_error };
  });
  app.post('/api/v1/model/load', async (req) => {
    operator(req);
    const b = parseBody(loadBody, req.body);
    return cp.load(b.repo, b.ref);
  });
  app.post('/api/v1/rollouts', async (req, reply) => {
    operator(req);
    return reply.code(201).send(await cp.createRollout(req.body));
  });
  app.get('/api/v1/rollouts', async (req) => {
    viewer(req);
    return { rollouts: cp.listRollouts() };
  });
  app.get('/api/v1/rollouts/:id', async (req) => {
    viewer(req);
    return cp.rollout((req.params as { id: string }).id);
  });
  for (const action of ['pause', 'resume', 'abort'] as const) {
    app.post(`/api/v1/rollouts/:id/${action}`, async (req) => {
      operator(req);
      return cp.setRolloutState((req.params as { id: string }).id, action, req.body);
    });
  }
  app.get('/api/v1/fleet/events', async (req, reply) => {
    // A browser's EventSource cannot send headers: the page passes its operator token as ?access_token=.
    const q = (req.query as { access_token?: unknown }).access_token;
    if (req.headers.authorization === undefined && typeof q === 'string' && q.length > 0 && q.length <= 4096) req.headers.authorization = `Bearer ${q}`;
    viewer(req);
    reserveStream();
    sse(reply);
    const stop = cp.onEvent((ev) => reply.raw.write(`event: ${ev.type}\ndata: ${JSON.stringify(ev.data)}\n\n`));
    const keepalive = setInterval(() => reply.raw.write(': keepalive\n\n'), 25_000);
    const ac = hold(req);
    ac.signal.addEventListener('abort', () => {
      stop();
      clearInterval(keepalive);
      releaseStream();
      reply.raw.end();
    }, { once: true });
    reply.raw.write(': connected\n\n');
  });

  // ---- THE FLEET PAGE HOOK (see fleet-page-hook.ts): GET / and /ui/* ----
  const page = opts.fleetPage === undefined ? fleetPageHook : opts.fleetPage;
  if (page) await page(app, cp);
  else app.get('/', async (_req, reply) => reply.type('text/plain').send('fleetscope control plane: the fleet page is not part of this build; the API is under /api/v1/\n'));

  return app;
}
