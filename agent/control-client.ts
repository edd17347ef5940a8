// Requests to the control plane (registration, desired state, artifacts,
// status): over https:// with the registration section's CA and the site's
// client certificate once issued (tls.ts), a TLS failure explained in words.
// The control plane's own TLS listener is another branch's; the agent side is
// tested against a node:https server (test/agent-tls.test.ts).
import { type HttpOptions, type HttpResponse, httpRequest } from './http.js';
import { TlsClient } from './tls.js';

export async function controlRequest(tls: TlsClient | undefined, url: string, opts: HttpOptions): Promise<HttpResponse> {
  try {
    const agent = tls !== undefined && url.startsWith('https:') ? tls.agent() : undefined;
    return await httpRequest(url, agent === undefined ? opts : { ...opts, httpsAgent: agent });
  } catch (err) {
    if (tls !== undefined && TlsClient.isTlsError(err)) throw new Error(tls.explain(err, url), { cause: err });
    throw err;
  }
}
