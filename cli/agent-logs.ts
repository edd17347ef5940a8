// Connects the agent daemon's log hook (agent/log-hook.ts) to the file
// tailer/shipper (agent/logs/): the `logs:` section is validated here, and an
// output without its own `token` ships with the site token the agent holds,
// restarted with the new token after a re-registration.
import pino from 'pino';
import { type FileLogShipper, type LogShipperContext, type LogShipperFactory, agentLogsConfigSchema, startLogShipper } from '../agent/index.js';

function withToken(config: unknown, token: string | undefined): unknown {
  if (token === undefined || typeof config !== 'object' || config === null) return config;
  const c = config as { output?: { forward?: Record<string, unknown>; http?: Record<string, unknown> } };
  const out = c.output;
  if (out?.forward && out.forward.token === undefined) return { ...c, output: { forward: { ...out.forward, token } } };
  if (out?.http && out.http.token === undefined) return { ...c, output: { http: { ...out.http, token } } };
  return config;
}

export const fileLogShipper: LogShipperFactory = async (ctx: LogShipperContext) => {
  const logger = pino({ base: undefined }, pino.destination(2));
  const parse = (token: string | undefined): ReturnType<typeof agentLogsConfigSchema.parse> => {
    const r = agentLogsConfigSchema.safeParse(withToken(ctx.config, token));
    if (!r.success) {
      const issue = r.error.issues[0];
      throw new Error(`${ctx.configFile}: logs.${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`);
    }
    return r.data;
  };
  const needsIdentity = (): boolean => {
    const out = (ctx.config as { output?: { forward?: { token?: unknown }; http?: { token?: unknown } } } | null)?.output;
    return out?.http !== undefined && out.http.token === undefined;
  };
  // A site not yet registered has no token to ship with over HTTP: the shipper starts with its identity.
  // The section is validated now either way, so a bad one fails the agent's start.
  const first = ctx.identity();
  const waitForIdentity = first === null && needsIdentity();
  const initial = parse(waitForIdentity ? 'placeholder-until-registered' : first?.site_token);
  let current: FileLogShipper | null = waitForIdentity ? null : await startLogShipper(initial, { logger, registry: ctx.registry });
  let chain = Promise.resolve();
  const off = ctx.onIdentity((id) => {
    if (id === null) return;
    chain = chain.then(async () => {
      await current?.stop();
      current = await startLogShipper(parse(id.site_token), { logger, registry: ctx.registry });
    }).catch((err: unknown) => ctx.log('error', `log shipper restart failed: ${(err as Error).message}`));
  });
  return {
    async stop() {
      off();
      await chain;
      await current?.stop();
    },
  };
};
