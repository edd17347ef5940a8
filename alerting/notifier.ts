// From rule matches to Alertmanager alerts, the Prometheus way.
//
// A match passes realert (in event time), then aggregation (a window per
// aggregation_key, from its first match), then becomes an alert whose labels
// are alertname, severity, tenant, re, site, the query key and the rule's own
// (ElastAlert 2's alertmanager_alertname/_labels/_fields), with summary and
// description from alert_subject/alert_text. For the types where a condition
// can stop holding (frequency, flatline, spike, cardinality and the
// aggregation types) the alert stays firing while matches keep coming, is
// resent every resend interval with endsAt = now + 4 × resend interval, and
// is resolved (endsAt = now) once no match came for its hold time. Other
// types send one alert per admitted match, which Alertmanager ends at endsAt.
// startsAt is the first match's event time and labels come from the data
// only, so two replicas send identical alerts and Alertmanager keeps one.
import { lookupKey, pyStr, type Doc } from './fields.js';
import { Silencer, type SilenceEntry } from './realert.js';
import { alertBody, alertSubject } from './text.js';
import type { PostableAlert } from './alertmanager.js';
import type { EngineMatch } from './engine.js';
import type { CompiledRule } from './rule.js';

export const RESOLVABLE_TYPES: ReadonlySet<string> = new Set(['frequency', 'flatline', 'spike', 'cardinality', 'metric_aggregation', 'spike_aggregation', 'percentage_match']);

export interface NotifierOptions {
  readonly resendMs: number;
  readonly externalUrl: string;
  readonly defaultSeverity: string;
  /** How long a resolvable alert holds without a new match. */
  readonly holdMs: (rule: CompiledRule) => number;
  readonly send: (alerts: PostableAlert[]) => void;
  readonly maxAggregatedMatches?: number;
}

interface Firing {
  rule: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: number;
  lastMatchTs: number;
  lastSentMs: number;
  holdMs: number;
  generatorURL: string;
}

interface Pending {
  rule: string;
  tenant: string;
  alertTime: number;
  matches: { ts: number; key: string | null; doc: Doc }[];
  more: number;
}

export interface NotifierState {
  silences: [string, SilenceEntry][];
  firing: [string, Firing][];
  aggregates: [string, Pending][];
}

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function labelName(n: string): string {
  return LABEL_NAME.test(n) ? n : n.replace(/[^a-zA-Z0-9_]/g, '_').replace(/^[0-9]/, '_$&');
}

export class Notifier {
  private silencer = new Silencer();
  private firing = new Map<string, Firing>();
  private aggregates = new Map<string, Pending>();
  private rules = new Map<string, CompiledRule>();
  silenced = 0;
  notifications = 0;
  resolved = 0;

  constructor(private readonly opts: NotifierOptions) {}

  setRules(rules: readonly CompiledRule[]): void {
    this.rules = new Map(rules.map((r) => [r.name, r]));
  }

  labels(rule: CompiledRule, tenant: string, key: string | null, doc: Doc): Record<string, string> {
    const o = rule.options;
    const out: Record<string, string> = {};
    const custom = (typeof o.alertmanager_labels === 'object' && o.alertmanager_labels !== null ? o.alertmanager_labels : {}) as Record<string, unknown>;
    const fields = (typeof o.alertmanager_fields === 'object' && o.alertmanager_fields !== null ? o.alertmanager_fields : {}) as Record<string, unknown>;
    for (const [k, v] of Object.entries(custom)) out[labelName(k)] = pyStr(v);
    for (const [k, path] of Object.entries(fields)) {
      const v = lookupKey(doc, String(path));
      if (v !== undefined && v !== null) out[labelName(k)] = pyStr(v);
    }
    if (key !== null) out.query_key = key;
    const re = lookupKey(doc, 're');
    const site = lookupKey(doc, 'site');
    if (typeof re === 'string') out.re = re;
    if (typeof site === 'string') out.site = site;
    // These four are fleetscope's own and cannot be overridden by a rule (DESIGN.md label contract).
    out.alertname = typeof o.alertmanager_alertname === 'string' ? o.alertmanager_alertname : rule.name;
    out.severity = typeof custom.severity === 'string' ? custom.severity : typeof o.severity === 'string' ? o.severity : this.opts.defaultSeverity;
    out.tenant = tenant;
    for (const k of Object.keys(out)) if (out[k] === '') delete out[k];
    return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }

  private annotations(rule: CompiledRule, matches: readonly { doc: Doc }[], more: number): Record<string, string> {
    const o = rule.options;
    const first = (matches[0] as { doc: Doc }).doc;
    const out: Record<string, string> = {};
    const static_ = (typeof o.alertmanager_annotations === 'object' && o.alertmanager_annotations !== null ? o.alertmanager_annotations : {}) as Record<string, unknown>;
    for (const [k, v] of Object.entries(static_)) out[labelName(k)] = pyStr(v);
    const subjectName = typeof o.alertmanager_alert_subject_labelname === 'string' ? o.alertmanager_alert_subject_labelname : 'summary';
    const textName = typeof o.alertmanager_alert_text_labelname === 'string' ? o.alertmanager_alert_text_labelname : 'description';
    out[subjectName] = alertSubject(rule, first);
    out[textName] = alertBody(rule, matches, more);
    return out;
  }

  private generatorURL(rule: CompiledRule): string {
    return `${this.opts.externalUrl.replace(/\/+$/, '')}/api/v1/rules/${encodeURIComponent(rule.name)}`;
  }

  /** A match from the engine. */
  onMatch(m: EngineMatch, nowMs: number): void {
    const rule = m.rule;
    const labels = this.labels(rule, m.tenant, m.key, m.doc);
    const fp = JSON.stringify(labels);
    const f = this.firing.get(fp);
    if (f !== undefined) {
      // Still holding: no new notification, the resend loop carries it.
      f.lastMatchTs = Math.max(f.lastMatchTs, m.ts);
      return;
    }
    if (!this.silencer.admit(rule, m.tenant, m.key, m.ts)) {
      this.silenced++;
      return;
    }
    if (rule.aggregationMs > 0) {
      const aggValue = rule.aggregationKey === null ? '' : pyStr(lookupKey(m.doc, rule.aggregationKey) ?? null);
      const id = `${m.tenant}\u0000${rule.name}\u0000${aggValue}`;
      let p = this.aggregates.get(id);
      if (p === undefined) this.aggregates.set(id, (p = { rule: rule.name, tenant: m.tenant, alertTime: m.ts + rule.aggregationMs, matches: [], more: 0 }));
      if (p.matches.length < (this.opts.maxAggregatedMatches ?? 1000)) p.matches.push({ ts: m.ts, key: m.key, doc: m.doc });
      else p.more++;
      return;
    }
    this.fire(rule, m.tenant, [{ ts: m.ts, key: m.key, doc: m.doc }], 0, nowMs);
  }

  private fire(rule: CompiledRule, tenant: string, matches: readonly { ts: number; key: string | null; doc: Doc }[], more: number, nowMs: number): void {
    const first = matches[0] as { ts: number; key: string | null; doc: Doc };
    const labels = this.labels(rule, tenant, first.key, first.doc);
    const fp = JSON.stringify(labels);
    const lastTs = Math.max(...matches.map((x) => x.ts));
    const state: Firing = {
      rule: rule.name,
      labels,
      annotations: this.annotations(rule, matches, more),
      startsAt: first.ts,
      lastMatchTs: lastTs,
      lastSentMs: nowMs,
      holdMs: this.opts.holdMs(rule),
      generatorURL: this.generatorURL(rule),
    };
    this.notifications++;
    this.opts.send([this.postable(state, nowMs + 4 * this.opts.resendMs)]);
    if (RESOLVABLE_TYPES.has(rule.type)) this.firing.set(fp, state);
  }

  private postable(f: Firing, endsMs: number): PostableAlert {
    return {
      labels: f.labels,
      annotations: f.annotations,
      startsAt: new Date(f.startsAt).toISOString(),
      endsAt: new Date(Math.max(endsMs, f.startsAt + 1)).toISOString(),
      generatorURL: f.generatorURL,
    };
  }

  /** Flushes due aggregations, resends what still holds, resolves what stopped. */
  tick(nowMs: number, watermarkMs: number): void {
    for (const [id, p] of this.aggregates) {
      if (p.alertTime > watermarkMs) continue;
      this.aggregates.delete(id);
      const rule = this.rules.get(p.rule);
      if (rule !== undefined && p.matches.length > 0) this.fire(rule, p.tenant, p.matches, p.more, nowMs);
    }
    const out: PostableAlert[] = [];
    for (const [fp, f] of this.firing) {
      if (!this.rules.has(f.rule) || watermarkMs - f.lastMatchTs >= f.holdMs) {
        this.firing.delete(fp);
        this.resolved++;
        out.push(this.postable(f, nowMs));
      } else if (nowMs - f.lastSentMs >= this.opts.resendMs) {
        f.lastSentMs = nowMs;
        out.push(this.postable(f, nowMs + 4 * this.opts.resendMs));
      }
    }
    this.silencer.expire(watermarkMs);
    if (out.length > 0) this.opts.send(out);
  }

  firingCount(): number {
    return this.firing.size;
  }

  snapshot(): NotifierState {
    return { silences: this.silencer.snapshot(), firing: [...this.firing], aggregates: [...this.aggregates] };
  }

  restore(s: NotifierState): void {
    this.silencer.restore(s.silences);
    this.firing = new Map(s.firing);
    this.aggregates = new Map(s.aggregates);
  }
}
