// The setup calls Filebeat, Logstash and other Beats make against an
// Elasticsearch output before they ship, answered as Elasticsearch 8 does,
// so they start unmodified against the collector's bulk endpoint:
//  - `GET /_license` (Beats' licenser: x-pack/libbeat/licenser/elastic_fetcher.go)
//    and `GET /_xpack` (Logstash's feature check): an active basic license;
//  - `HEAD|GET /_index_template/{name}` then `PUT|POST /_index_template/{name}`
//    (libbeat/template/load.go: exists, else load);
//  - `GET /_ilm/policy/{name}` then `PUT /_ilm/policy/{name}`
//    (libbeat/idxmgmt/lifecycle/es_client_handler.go: HasPolicy, putPolicyToES).
// Templates and policies are remembered per tenant (in memory, bounded) so a
// client's exists-check after its PUT finds them, and are NOT applied: the
// collector picks the indices (pipeline.ts) and Elasticsearch's own
// templates belong to whoever runs the cluster. A restart forgets them and
// the client loads them again, which is harmless.
// https://www.elastic.co/guide/en/elasticsearch/reference/8.11/get-license.html
// https://www.elastic.co/guide/en/elasticsearch/reference/8.11/indices-put-template.html
// https://www.elastic.co/guide/en/elasticsearch/reference/8.11/ilm-put-lifecycle.html
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { LogsError } from './errors.js';
import type { LogsMetrics } from './metrics.js';
import type { LogIdentity } from './pipeline.js';

/** Templates and policies remembered, per kind, across tenants. */
const MAX_REMEMBERED = 1000;
const NAME = /^[a-z0-9][a-z0-9_.-]{0,254}$/;

const LICENSE = {
  status: 'active',
  uid: '66c0b1b2-6a8d-4e8a-8a3c-666c65657473',
  type: 'basic',
  issue_date: '2023-11-04T10:04:57.184Z',
  issue_date_in_millis: 1699092297184,
  max_nodes: 1000,
  max_resource_units: null,
  issued_to: 'fleetscope',
  issuer: 'elasticsearch',
  start_date_in_millis: -1,
};

function esError(type: string, reason: string, status: number): Record<string, unknown> {
  return { error: { root_cause: [{ type, reason }], type, reason }, status };
}

export function registerSetupRoutes(scope: FastifyInstance, identify: (req: FastifyRequest) => LogIdentity | undefined, metrics: LogsMetrics): void {
  const templates = new Map<string, unknown>();
  const policies = new Map<string, { version: number; modified_date: string; policy: unknown }>();
  const answer = (reply: FastifyReply, status: number, payload: unknown): FastifyReply => {
    metrics.requests.inc({ input: 'setup', code: String(status) });
    return reply.code(status).send(payload);
  };
  /** The caller's tenant, or an answer already sent (401). */
  const tenantOf = (req: FastifyRequest, reply: FastifyReply): string | null => {
    const id = identify(req);
    if (id) return id.tenant;
    reply.header('WWW-Authenticate', 'Basic realm="security" charset="UTF-8"');
    void answer(reply, 401, esError('security_exception', new LogsError('FS_COLLECTOR_LOGS_UNAUTHORIZED', ['a site token is required: Authorization: Bearer <token>, or Basic with the token as password']).message, 401));
    return null;
  };
  const remember = <T>(map: Map<string, T>, key: string, value: T): boolean => {
    if (!map.has(key) && map.size >= MAX_REMEMBERED) return false;
    map.set(key, value);
    return true;
  };
  const bodyObject = (req: FastifyRequest): Record<string, unknown> | null => {
    if (!Buffer.isBuffer(req.body) || req.body.length === 0) return null;
    try {
      const v = JSON.parse(req.body.toString('utf8')) as unknown;
      return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
    } catch {
      return null;
    }
  };

  scope.get('/_license', async (req, reply) => {
    if (tenantOf(req, reply) === null) return reply;
    return answer(reply, 200, { license: LICENSE });
  });
  scope.get('/_xpack', async (req, reply) => {
    if (tenantOf(req, reply) === null) return reply;
    return answer(reply, 200, {
      build: { hash: 'fleetscope', date: '2023-11-04T10:04:57.184859352Z' },
      license: { uid: LICENSE.uid, type: 'basic', mode: 'basic', status: 'active' },
      features: { ilm: { available: true, enabled: true }, monitoring: { available: true, enabled: false }, security: { available: true, enabled: true } },
      tagline: 'You know, for X',
    });
  });

  // GET answers the template; HEAD (fastify derives it from GET) its status alone.
  scope.get<{ Params: { name: string } }>('/_index_template/:name', async (req, reply) => {
    const tenant = tenantOf(req, reply);
    if (tenant === null) return reply;
    const t = templates.get(`${tenant}\0${req.params.name}`);
    if (t === undefined) return answer(reply, 404, esError('resource_not_found_exception', `index template matching [${req.params.name}] not found`, 404));
    return answer(reply, 200, { index_templates: [{ name: req.params.name, index_template: t }] });
  });
  const putTemplate = async (req: FastifyRequest<{ Params: { name: string } }>, reply: FastifyReply): Promise<FastifyReply> => {
    const tenant = tenantOf(req, reply);
    if (tenant === null) return reply;
    const name = req.params.name;
    const body = bodyObject(req);
    if (!NAME.test(name)) return answer(reply, 400, esError('invalid_index_template_exception', `index_template [${name}] invalid, cause [name must be lowercase]`, 400));
    if (body === null || !Array.isArray(body.index_patterns)) return answer(reply, 400, esError('action_request_validation_exception', 'Validation Failed: 1: index patterns are missing;', 400));
    if (!remember(templates, `${tenant}\0${name}`, body)) return answer(reply, 429, esError('fleetscope_too_many_templates', `more than ${MAX_REMEMBERED} index templates`, 429));
    return answer(reply, 200, { acknowledged: true });
  };
  scope.put('/_index_template/:name', putTemplate);
  scope.post('/_index_template/:name', putTemplate);

  scope.get<{ Params: { name: string } }>('/_ilm/policy/:name', async (req, reply) => {
    const tenant = tenantOf(req, reply);
    if (tenant === null) return reply;
    const p = policies.get(`${tenant}\0${req.params.name}`);
    if (p === undefined) return answer(reply, 404, esError('resource_not_found_exception', `Lifecycle policy not found: ${req.params.name}`, 404));
    return answer(reply, 200, { [req.params.name]: p });
  });
  scope.put<{ Params: { name: string } }>('/_ilm/policy/:name', async (req, reply) => {
    const tenant = tenantOf(req, reply);
    if (tenant === null) return reply;
    const body = bodyObject(req);
    if (body === null || typeof body.policy !== 'object' || body.policy === null) return answer(reply, 400, esError('x_content_parse_exception', 'request body is required and must hold a "policy" object', 400));
    const key = `${tenant}\0${req.params.name}`;
    const version = (policies.get(key)?.version ?? 0) + 1;
    if (!remember(policies, key, { version, modified_date: new Date().toISOString(), policy: body.policy })) return answer(reply, 429, esError('fleetscope_too_many_policies', `more than ${MAX_REMEMBERED} lifecycle policies`, 429));
    return answer(reply, 200, { acknowledged: true });
  });
}
