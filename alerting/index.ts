// alerting/: the ElastAlert-compatible rule loader and stream engine, the
// Alertmanager API v2 client, and the fleet's Prometheus rules.
export { alertingErrors, AlertingError, type AlertingErrorCode } from './errors.js';
export { loadRulesFolder, loadRuleFile, loadRuleYaml, checkRule, formatIssue, REQUIRED_OPTIONS, type RuleIssue, type LoadResult } from './loader.js';
export { validateRuleSchema, type SchemaIssue } from './schema.js';
export { compileRule, type CompiledRule, type RuleTypeName } from './rule.js';
export { compileFilter, tokens, fieldValues, type CompiledFilter, type Predicate } from './filter.js';
export { parseLucene, type LuceneNode } from './lucene.js';
export { Engine, createRuleType, matchKey, DROP_REASONS, type LogRecord, type EngineMatch, type EngineOptions, type DropReason } from './engine.js';
export { Silencer } from './realert.js';
export { pyFormat, alertSubject, alertText } from './text.js';
export { formatTimestamp, parseTimestamp } from './ruletype.js';
export { metricValue } from './ruletypes-spike.js';
export { AlertmanagerClient, classifyStatus, type PostableAlert, type SendOutcome } from './alertmanager.js';
export { Notifier, RESOLVABLE_TYPES, type NotifierOptions } from './notifier.js';
export { AlertingService, toLogRecord, type AlertingServiceOptions, type ReloadResult } from './service.js';
export { loadAlertingConfig, parseAlertingConfig, alertingConfigSchema, type AlertingConfig } from './config.js';
export { StateStore } from './state.js';
