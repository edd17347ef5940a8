// relabel/: Prometheus relabeling, exactly, plus the fast-path filters.
export { type Labels, LabelsBuilder, getLabel, isValidLabelName, sortLabels } from './labels.js';
export {
  ACTIONS,
  DEFAULTS,
  type RelabelAction,
  type RelabelConfig,
  type RelabelConfigInput,
  parseRelabelConfigsYaml,
  validateRelabelConfig,
} from './config.js';
export { Relabeler, DropReason } from './relabel.js';
export { MetricFilter, type MetricFilterConfig, metricFilterSchema } from './filters.js';
export { compileGoRegexp, quoteMeta, type GoRegexp } from './goregexp.js';
export { goToLower, goToUpper } from './casefold.js';
export { hashMod } from './hashmod.js';
export { RelabelError, relabelErrors, type RelabelErrorCode } from './errors.js';
