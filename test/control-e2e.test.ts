// The control plane end to end (test/control-e2e-suite.ts) with the embedded
// artifact store: a directory the two replicas share.
import { controlE2e } from './control-e2e-suite.js';

controlE2e('dir');
