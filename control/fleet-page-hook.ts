// THE FLEET PAGE HOOK. The fleet web page (GET / and /ui/*) lives in
// control/page/, built separately. When it is merged, replace `null` below by
// `registerFleetPage` imported from './page/index.js'; the server calls it
// once with the fastify app and the ControlPlane, after the API routes.
import type { FastifyInstance } from 'fastify';
import type { ControlPlane } from './control.js';

export type FleetPageHook = (app: FastifyInstance, api: ControlPlane) => void | Promise<void>;

export const fleetPageHook: FleetPageHook | null = null;
