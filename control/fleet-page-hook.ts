// The fleet web page (GET / and /ui/*, control/page/): the server calls this
// once with the fastify app and the ControlPlane, after the API routes. The
// page itself is static; it reads the operator API with the token the
// operator signs in with.
import type { FastifyInstance } from 'fastify';
import type { ControlPlane } from './control.js';
import { registerFleetPage } from './page/index.js';

export type FleetPageHook = (app: FastifyInstance, api: ControlPlane) => void | Promise<void>;

export const fleetPageHook: FleetPageHook | null = (app, api) => {
  const faroUrl = api.config.page.faro_url;
  registerFleetPage(app, faroUrl === undefined ? {} : { faroUrl });
};
