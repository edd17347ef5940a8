// The push path against a real Prometheus, the pipeline on two worker threads (test/collector-push-suite.ts).
import { definePushSuite } from './collector-push-suite.js';

definePushSuite(2);
