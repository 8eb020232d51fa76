/**
 * OpenAI's REST side of a SIP call: accepting it with the session's configuration.
 * Plain `fetch` against `OPENAI_BASE_URL` (the SDK would need Node 22 in its current
 * major, and adds nothing for one POST). Network errors, 429 and 5xx are retried a few
 * times with backoff; any other refusal is final.
 * @see ../../../docs/PROTOCOL.md §6.1
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { AcceptBody } from '../../protocol/openai-realtime/events.js';

export type AcceptResult = { ok: true; attempts: number } | { ok: false; attempts: number; status: number | null; message: string };

export interface AcceptRequest {
  baseUrl: string;
  apiKey: string;
  callId: string;
  body: AcceptBody;
  signal?: AbortSignal;
  /** Attempts in all (default 3) and the first pause between them (doubling). */
  attempts?: number;
  retryDelayMs?: number;
  timeoutMs?: number;
}

const retryable = (status: number) => status === 429 || status >= 500;

export async function acceptCall(request: AcceptRequest): Promise<AcceptResult> {
  const attempts = request.attempts ?? 3;
  const url = `${request.baseUrl}/realtime/calls/${encodeURIComponent(request.callId)}/accept`;
  let last: AcceptResult = { ok: false, attempts: 0, status: null, message: 'not attempted' };
  for (let attempt = 1; attempt <= attempts; attempt++) {
    if (request.signal?.aborted) return { ok: false, attempts: attempt - 1, status: null, message: 'aborted' };
    if (attempt > 1) await sleep((request.retryDelayMs ?? 300) * 2 ** (attempt - 2), undefined, { signal: request.signal }).catch(() => {});
    try {
      const signals = [AbortSignal.timeout(request.timeoutMs ?? 10_000), ...(request.signal ? [request.signal] : [])];
      const response = await fetch(url, {
        method: 'POST',
        headers: { authorization: `Bearer ${request.apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify(request.body),
        signal: AbortSignal.any(signals),
      });
      const text = await response.text().catch(() => '');
      if (response.ok) return { ok: true, attempts: attempt };
      last = { ok: false, attempts: attempt, status: response.status, message: text.slice(0, 500) };
      if (!retryable(response.status)) return last;
    } catch (error) {
      last = { ok: false, attempts: attempt, status: null, message: (error as Error).message };
    }
  }
  return last;
}
