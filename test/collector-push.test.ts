// The push path against a real Prometheus, the pipeline on the main thread (test/collector-push-suite.ts).
import { definePushSuite } from './collector-push-suite.js';

definePushSuite(0);
