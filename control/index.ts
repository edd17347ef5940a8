// control/: the GitOps control plane (DESIGN.md). One door.
export { type ArtifactStore, DirArtifactStore, artifactKey, openArtifactStore } from './artifacts.js';
export { createCsr, generateTenantCa } from './ca.js';
export { CHECKSUM_ANNOTATION, manifestChecksum, withEmptyChecksum } from './checksum.js';
export { type ControlConfig, controlConfigSchema, loadControlConfig, parseControlConfig, parseDuration } from './config.js';
export { type ControlEvent, ControlPlane, type DesiredView, type Operator, type RolloutView, createRegistrationToken, openStore } from './control.js';
export { ControlError, type ControlErrorCode, controlErrors } from './errors.js';
export { type FleetPageHook } from './fleet-page-hook.js';
export { type FleetStatus, type SiteState, type SiteSummary } from './fleet.js';
export { type LoadOutcome, ModelLoader, readModel } from './loader.js';
export { type Model, buildModel, mergeParams } from './model.js';
export { type RenderedSite, type SiteIdentity, planSite, renderPlan } from './render.js';
export { type RolloutCounts, parsePortion, partitionSites, tickRollout } from './rollout.js';
export { buildServer, type ServerOptions } from './server.js';
export { State } from './state.js';
export { type KeyValue, type StateStore, type StoreEvent } from './store.js';
export { FileStateStore } from './store-file.js';
export { EtcdStateStore } from './store-etcd.js';
export { APPLY_MODE_ANNOTATION, PREPULL_ANNOTATION, VERSION_ANNOTATION } from './template.js';
export { commitModel, exampleModelFiles, exampleSites, initRepo } from './example-model.js';
// The fleet web page (control/page/README.md).
export { type FleetPageOptions, PageError, type PageErrorCode, pageErrors, registerFleetPage } from './page/index.js';
