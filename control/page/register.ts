// Serves the fleet page on the control plane's Fastify app: GET / (the
// page) and GET /ui/* (its scripts, styles and the vendored uPlot and Faro
// bundles). The page itself talks to the operator API of the top README's contract §2.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type Asset, loadAssets } from './assets.js';
import { PageError } from './errors.js';

export interface FleetPageOptions {
  /** The collector's Faro endpoint (`http://collector:9201/faro/collect`); the page sends no telemetry without it. */
  readonly faroUrl?: string;
  /** Shown in the page's Faro meta (app.version). */
  readonly version?: string;
  /** Where index.html and the page's scripts are; control/page/ui of this checkout by default. */
  readonly assetsDir?: string;
}

const escapeAttr = (s: string): string => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '';
  }
}

/** Registers GET / and GET /ui/*. Reads the assets now, so a missing file fails at start, not on first view. */
export function registerFleetPage(app: FastifyInstance, opts: FleetPageOptions = {}): void {
  const assets = loadAssets(opts.assetsDir);
  const faroUrl = opts.faroUrl ?? '';
  const faroOrigin = faroUrl ? originOf(faroUrl) : '';
  const html = Buffer.from(assets.template.replaceAll('{{FARO_URL}}', escapeAttr(faroUrl)).replaceAll('{{VERSION}}', escapeAttr(opts.version ?? '0.1.0')));
  // No inline script or style anywhere; the token travels in the SSE URL, so no Referer leaves the page.
  const csp = [
    "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:",
    `connect-src 'self'${faroOrigin ? ` ${faroOrigin}` : ''}`, "frame-ancestors 'none'", "base-uri 'none'", "form-action 'self'", "object-src 'none'",
  ].join('; ');
  const secure = (reply: FastifyReply): FastifyReply => reply
    .header('Content-Security-Policy', csp)
    .header('X-Content-Type-Options', 'nosniff')
    .header('Referrer-Policy', 'no-referrer')
    .header('Cache-Control', 'no-cache');

  const send = (req: FastifyRequest, reply: FastifyReply, a: Asset): FastifyReply => {
    secure(reply).header('ETag', a.etag);
    if (req.headers['if-none-match'] === a.etag) return reply.code(304).send();
    return reply.type(a.type).send(a.body);
  };
  app.get('/', async (_req, reply) => secure(reply).type('text/html; charset=utf-8').send(html));
  app.get('/ui/*', async (req, reply) => {
    const name = (req.params as { '*': string })['*'];
    const a = assets.files.get(name);
    if (!a) {
      const err = new PageError('FS_CONTROL_PAGE_NOT_FOUND', [`/ui/${name}`]);
      return reply.code(err.status).send({ code: err.code, message: err.message });
    }
    return send(req, reply, a);
  });
}
