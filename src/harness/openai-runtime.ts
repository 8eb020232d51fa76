/**
 * Sets up `--runtime openai`: starts the stand-in of OpenAI's Realtime service on a
 * loopback port, gives the tenant `openai_realtime` settings that point the broker's
 * webhook check at the harness's secret, checks with one probe call that the broker
 * really talks to the stand-in (it must run with OPENAI_BASE_URL and OPENAI_REALTIME_URL
 * pointing there), and hands each caller a dial function. `close` removes the settings.
 */
import { randomBytes } from 'node:crypto';
import { OpenAiCallClient, ringBroker, type OpenAiCallEnvironment } from './openai-call-client.js';
import { FakeRealtime } from './openai-realtime-service.js';
import type { CallClient } from './runtime-client.js';
import { TargetError } from './target.js';

export const DEFAULT_OPENAI_PORT = 18181;

export interface OpenAiRuntime {
  dial(callId: string, phone: string, reconnecting: boolean): Promise<CallClient>;
  /** `response.create`s the broker sent while a response was active: must stay empty. */
  violations(): number;
  close(): Promise<void>;
}

export const brokerEnvironmentFor = (port: number) => `OPENAI_BASE_URL=http://127.0.0.1:${port}/v1 OPENAI_REALTIME_URL=ws://127.0.0.1:${port}/v1/realtime`;

export async function prepareOpenAiRuntime(options: { url: string; tenant: string | undefined; adminToken: string | undefined; port: number; locale: string; runId: string }): Promise<OpenAiRuntime> {
  const { tenant, adminToken } = options;
  if (!tenant || !adminToken) throw new TargetError('--runtime openai needs --tenant and --admin-token (or the demo broker): it configures the tenant’s openai_realtime settings');
  const settingsPath = `/v1/admin/tenants/${encodeURIComponent(tenant)}/integrations/openai_realtime`;
  const admin = async (method: string, body?: unknown) => {
    const response = await fetch(new URL(settingsPath, options.url), {
      method,
      headers: { authorization: `Bearer ${adminToken}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
    await response.arrayBuffer();
    return response.status;
  };
  if ((await admin('GET')) === 200) {
    throw new TargetError(`tenant "${tenant}" has openai_realtime settings already; the harness would replace them: use a tenant of its own (--tenant sim-openai)`);
  }
  const apiKey = `sk-harness-${randomBytes(12).toString('hex')}`;
  const webhookSecret = `whsec_${randomBytes(32).toString('base64')}`;
  let service: FakeRealtime;
  try {
    service = await FakeRealtime.start({ apiKey, port: options.port });
  } catch (error) {
    throw new TargetError(`the stand-in of OpenAI's Realtime service could not listen on 127.0.0.1:${options.port}: ${(error as Error).message} (--openai-port)`);
  }
  const close = async () => {
    await admin('DELETE').catch(() => {});
    await service.close();
  };
  try {
    const put = await admin('PUT', { api_key: apiKey, webhook_secret: webhookSecret, locale: options.locale });
    if (put !== 200) throw new TargetError(`storing the tenant's openai_realtime settings failed: HTTP ${put} (does this broker have PROTOCOL §6.1?)`);
    const env: OpenAiCallEnvironment = { service, url: options.url, tenant, adminToken, webhookSecret };
    try {
      const probe = await ringBroker(env, `sim-${options.runId}-openai-probe`, '+490000000000');
      probe.hangUp();
    } catch {
      throw new TargetError(`the broker did not accept a probe call through the stand-in on port ${options.port}: start it with ${brokerEnvironmentFor(options.port)}`);
    }
    const clients = new Map<string, OpenAiCallClient>();
    return {
      async dial(callId, phone, reconnecting) {
        const client = await OpenAiCallClient.dial(env, callId, phone, reconnecting ? (clients.get(callId) ?? null) : null);
        clients.set(callId, client);
        return client;
      },
      violations: () => service.violations.length,
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
