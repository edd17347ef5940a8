// The control plane end to end (test/control-e2e-suite.ts) with its artifacts
// in S3: the stand-in S3 server (test/peers/s3.ts, SigV4 verified on every
// request) that both replicas share.
import { controlE2e } from './control-e2e-suite.js';

controlE2e('s3');
