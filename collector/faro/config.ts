// The `faro:` section of the collector's config, for the lead to add to
// collectorConfigSchema when wiring the receiver in; toFaroOptions maps it
// onto registerFaroRoutes' options.
import { z } from 'zod';
import { FARO_DEFAULTS, type FaroOptions } from './routes.js';

export const faroConfigSchema = z.object({
  /** Serve POST /faro/collect. */
  enabled: z.boolean().default(false),
  path: z.string().startsWith('/').default(FARO_DEFAULTS.path),
  /** Tenant, RE and site the page's records are filed under (the page is not a site). */
  tenant: z.string().min(1).default(FARO_DEFAULTS.tenant),
  re: z.string().min(1).default(FARO_DEFAULTS.re),
  site: z.string().min(1).default(FARO_DEFAULTS.site),
  /** Page origins allowed to post cross-origin, e.g. the control plane's `https://control.example:9300`; `*` for any. */
  allowed_origins: z.array(z.string().regex(/^(\*|https?:\/\/[^/]+)$/, 'an origin (scheme://host[:port]) or *')).default([]),
  /** If set, the SDK's apiKey must match (x-api-key). */
  api_key: z.string().min(1).optional(),
  max_body_bytes: z.number().int().positive().max(16 * 1024 * 1024).default(FARO_DEFAULTS.maxBodyBytes),
  max_items: z.number().int().positive().max(100_000).default(FARO_DEFAULTS.maxItems),
  max_field_length: z.number().int().positive().max(1024 * 1024).default(FARO_DEFAULTS.maxFieldLength),
}).strict();

export type FaroConfig = z.infer<typeof faroConfigSchema>;

export function toFaroOptions(c: FaroConfig): FaroOptions {
  return {
    path: c.path, tenant: c.tenant, re: c.re, site: c.site, allowedOrigins: c.allowed_origins, apiKey: c.api_key,
    maxBodyBytes: c.max_body_bytes, maxItems: c.max_items, maxFieldLength: c.max_field_length,
  };
}
