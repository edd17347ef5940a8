// control/page/: the fleet web page the control plane serves at / and /ui/*.
export { type FleetPageOptions, registerFleetPage } from './register.js';
export { PageError, type PageErrorCode, pageErrors } from './errors.js';
