// agent/: the edge daemon. Registration, scrape + ship metrics through
// outages (disk buffer), pull + apply upgrades; the log shipper plugs in
// through LogShipperFactory.
export { AgentDaemon, type AgentLog, type AgentOptions } from './daemon.js';
export { type AgentConfig, type LoadedAgentConfig, agentConfigSchema, loadAgentConfig, validateAgentConfig } from './config.js';
export { AgentError, type AgentErrorCode, agentErrors } from './errors.js';
export { type LogShipper, type LogShipperContext, type LogShipperFactory } from './log-hook.js';
export { type SiteEndpoints, type SiteIdentity, type SiteInfo, loadIdentity, wipeIdentity } from './identity.js';
export { SegmentBuffer, type BufferOptions, type BufferStats } from './buffer.js';
export { TargetScraper, type ScrapeResult, type TargetOptions, httpSource } from './scrape.js';
export { ANN_APPLY_MODE, ANN_CHECKSUM, ANN_PREPULL, ANN_VERSION, MANAGED_LABEL, type KubeObject, checksumCandidates, parseRelease, stampChecksum } from './manifests.js';
export { FIELD_MANAGER, type KubeApi, type KubeApiOptions, type KubeClientKind, applyBody, classifyApiError, kubeApi, kubeApiFrom, loadKubeClient } from './kube.js';
export { type HttpKubeApi, KubeHttpError, httpKubeApi } from './kube-api-http.js';
export { Applier, type ApplyResult } from './apply.js';
export { type ImagePuller, KubernetesPrePuller, type PullOutcome } from './prepull.js';
export { Upgrader, type UpgradeState, type UpgradeStep } from './upgrade.js';
export { loadX509 } from './reflect-metadata.js';
export { type LockOutcome, RebootLock, type RebootLockOptions } from './reboot-lock.js';
export { type AgentLogsConfig, type LogShipper as FileLogShipper, type LogShipperDeps, type LogShipperStats, agentLogsConfigSchema, startLogShipper } from './logs/index.js';
export { KubernetesDiscovery, type KubernetesSdConfig, type SdJob } from './kube-sd.js';
export { kubeConfigFor, kubeListWatchClient } from './kube-sd-client.js';
export { type ListWatchClient, ResourceWatch } from './kube-sd-watch.js';
export { type ClusterAccess, httpListWatchClient, loadClusterAccess } from './kube-sd-http.js';
export { type ResolvedTarget, resolveTarget } from './target-labels.js';
