/** BrokerMetrics fed by a real SessionFeed, and the counting session store on a closed database. */
import { register as globalRegistry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { CountingSessionStore } from '../../../src/observability/counting-session-store.js';
import { BrokerMetrics } from '../../../src/observability/metrics.js';
import { SessionFeed } from '../../../src/sessions/session-feed.js';
import { DrizzleCatalogStore } from '../../../src/store/catalog-store.js';
import { demoCatalog } from '../../fixtures/catalogs.js';
import { openTestDatabase } from '../../fixtures/database.js';

const at = new Date(0).toISOString();
const base = { tenant: 't', call_id: 'c', at };

async function value(metrics: BrokerMetrics, name: string, labels: Record<string, string> = {}) {
  const metric = await metrics.registry.getSingleMetric(name)!.get();
  return metric.values.find((entry) => Object.entries(labels).every(([key, label]) => String(entry.labels[key]) === label))?.value;
}

describe('BrokerMetrics', () => {
  it('derives storage timeouts, holds and endings from the feed', async () => {
    const feed = new SessionFeed();
    const metrics = new BrokerMetrics({ liveSessions: () => 3, processMetrics: false });
    const stop = metrics.observe(feed);
    feed.publish({ ...base, type: 'tool.answered', tool: 'book_appointment', id: '1', ok: false, latency_ms: 1800, error_code: 'UNAVAILABLE' });
    feed.publish({ ...base, type: 'tool.answered', tool: 'book_appointment', id: '2', ok: false, latency_ms: 12, error_code: 'SLOT_TAKEN' });
    const hold = { id: 'h', serviceId: 's', staffId: 'f', start: 0, end: 1, placedAt: 0, expiresAt: 1, maxExpiresAt: 2 };
    for (const status of ['held', 'extended', 'extended', 'expired', 'lost'] as const) feed.publish({ ...base, type: 'hold.changed', status, hold, timezone: 'UTC' });
    feed.publish({ ...base, type: 'session.ended', outcome: 'dropped' });
    stop();
    feed.publish({ ...base, type: 'session.ended', outcome: 'dropped' });

    expect(await value(metrics, 'callhold_storage_timeouts_total', { tool: 'book_appointment' })).toBe(1);
    expect(await value(metrics, 'callhold_holds_total', { status: 'placed' })).toBe(1);
    expect(await value(metrics, 'callhold_holds_total', { status: 'extended' })).toBe(2);
    expect(await value(metrics, 'callhold_holds_total', { status: 'expired' })).toBe(1);
    expect(await value(metrics, 'callhold_holds_total', { status: 'lost' })).toBe(1);
    expect(await value(metrics, 'callhold_sessions_ended_total', { outcome: 'dropped' })).toBe(1);
    expect(await value(metrics, 'callhold_live_sessions')).toBe(3);
  });

  it('keeps one registry per instance, none in the global registry', async () => {
    const [one, two] = [new BrokerMetrics({ liveSessions: () => 0 }), new BrokerMetrics({ liveSessions: () => 0 })];
    one.frameReceived();
    expect(await value(one, 'callhold_frames_total', { direction: 'in' })).toBe(1);
    expect(await value(two, 'callhold_frames_total', { direction: 'in' })).toBe(0);
    expect(globalRegistry.getSingleMetric('callhold_frames_total')).toBeUndefined();
  });

  it('counts failed event-log and snapshot writes and still rethrows them', async () => {
    const database = await openTestDatabase('pglite');
    const metrics = new BrokerMetrics({ liveSessions: () => 0, processMetrics: false });
    const store = new CountingSessionStore(database.db, metrics);
    const { catalog, customers } = demoCatalog('t');
    await new DrizzleCatalogStore(database.db).putCatalog(catalog, customers);
    const { session } = await store.openSession('t', 'c', 1, { instanceId: 'metrics-test', heldEpoch: null });
    const fence = { tenantId: session.tenantId, sessionId: session.id, epoch: session.ownerEpoch };
    await store.saveSessions([{ fence, changes: { state: 'ok' } }]);
    expect(await value(metrics, 'callhold_storage_errors_total', { operation: 'snapshot' })).toBe(0);
    await database.close();
    await expect(store.saveSessions([{ fence, changes: { state: 'lost' } }])).rejects.toThrow();
    await expect(store.appendLog([{ tenantId: session.tenantId, sessionId: session.id, epoch: fence.epoch, at: new Date(), direction: 'in', type: 'ping', payload: {}, toolCallId: null, latencyMs: null }], [])).rejects.toThrow();
    expect(await value(metrics, 'callhold_storage_errors_total', { operation: 'snapshot' })).toBe(1);
    expect(await value(metrics, 'callhold_storage_errors_total', { operation: 'event_log' })).toBe(1);
  });
});
