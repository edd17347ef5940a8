// The `scrape_configs:` part of the collector's config: Prometheus's own
// shape (job_name, scrape_interval, scrape_timeout, metrics_path, params,
// scheme, honor_labels, honor_timestamps, body_size_limit, static_configs,
// file_sd_configs), plus who a target belongs to: `tenant` on the job and
// `tenant`/`site`/`group` on each target group (or the labels `__tenant__`,
// `__site__`, `__group__` in a file_sd file, which has only targets and
// labels). Scraped series then go through that tenant's pipeline.
import { z } from 'zod';
import { byteSize, duration } from './duration.js';

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
export const TENANT_NAME = /^[A-Za-z0-9_.-]{1,128}$/;

const labelsSchema = z.record(z.string().regex(LABEL_NAME, 'not a valid label name'), z.string()).default({});

/** host:port, as Prometheus's __address__. */
const address = z.string().regex(/^[^\s/?#]+:\d{1,5}$/, 'a target is host:port');

export const targetGroupSchema = z
  .object({
    targets: z.array(address),
    labels: labelsSchema,
    tenant: z.string().regex(TENANT_NAME, 'a tenant is 1-128 of A-Z a-z 0-9 _ . -').optional(),
    site: z.string().min(1).max(256).optional(),
    group: z.string().min(1).optional(),
  })
  .strict();

export type TargetGroup = z.output<typeof targetGroupSchema>;

/** A file_sd file: Prometheus's format, a list of {targets, labels} (JSON or YAML). */
export const fileTargetGroupsSchema = z.array(z.object({ targets: z.array(address), labels: labelsSchema }).strict());

export const scrapeJobSchema = z
  .object({
    job_name: z.string().min(1),
    /** The tenant of every target group that does not name one. */
    tenant: z.string().regex(TENANT_NAME, 'a tenant is 1-128 of A-Z a-z 0-9 _ . -').optional(),
    scrape_interval: duration.default(60_000),
    scrape_timeout: duration.default(10_000),
    metrics_path: z.string().startsWith('/').default('/metrics'),
    /** Query parameters, e.g. {"match[]": ['{job="node"}']} for /federate. */
    params: z.record(z.string(), z.array(z.string())).default({}),
    scheme: z.enum(['http', 'https']).default('http'),
    honor_labels: z.boolean().default(false),
    honor_timestamps: z.boolean().default(true),
    /** Largest (uncompressed) body; over it the scrape fails. 0: no limit. Prometheus's default is 0; ours bounds memory. */
    body_size_limit: byteSize.default(64 * 1024 * 1024),
    basic_auth: z.object({ username: z.string(), password: z.string() }).strict().optional(),
    bearer_token: z.string().optional(),
    static_configs: z.array(targetGroupSchema).default([]),
    file_sd_configs: z
      .array(z.object({ files: z.array(z.string().min(1)).min(1), refresh_interval: duration.default(300_000) }).strict())
      .default([]),
  })
  .strict();

export type ScrapeJob = z.output<typeof scrapeJobSchema>;
