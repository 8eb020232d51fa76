/**
 * Point 5: the same scenario played twice through the harness, once by callhold's rules
 * and once as a system without holds would (check, release at once, book later by naming
 * the slot): 100 callers want one slot, arriving over a few seconds, each taking a few
 * seconds between hearing "available" and saying "yes". Refused callers take an offered
 * alternative. The figure that matters: callers told "available" and refused afterwards.
 */
import type { SimulationReport } from '../src/harness/report.js';
import { parseScenario } from '../src/harness/scenario.js';
import { runSimulation } from '../src/harness/simulate.js';
import type { BrokerProcess } from './broker-process.js';
import { log } from './calls.js';

export const oneSlotRush = parseScenario({
  name: 'one-slot-rush',
  description: '100 callers want Dauerwelle with Fabian at 10:00, arriving within 2 s; 2–5 s between "available" and "yes".',
  callers: 100,
  arrival_window_s: 2,
  roles: [
    {
      name: 'caller',
      steps: [
        { do: 'connect' },
        { do: 'say', words: [3, 6] },
        { do: 'check', slot: { service: 'Dauerwelle', staff: 'Fabian', time: '10:00' } },
        {
          do: 'until_booked',
          max_attempts: 3,
          steps: [
            { do: 'think', s: [0.3, 1.5], when: 'not_offered' },
            { do: 'pick_alternative', choose: 'random', when: 'not_offered' },
            { do: 'say', words: [2, 4], when: 'offered' },
            { do: 'think', s: [2, 5], when: 'offered' },
            { do: 'book', when: 'offered' },
          ],
        },
        { do: 'hangup' },
      ],
    },
  ],
});

export interface BaselineResult {
  scenario: string;
  description: string;
  callhold: SimulationReport;
  naive: SimulationReport;
}

export async function compareWithNaive(options: { broker: BrokerProcess; token: string; tenant: string; dates: [string, string]; seed: number }): Promise<BaselineResult> {
  const common = {
    url: options.broker.url,
    token: options.token,
    tenant: options.tenant,
    adminToken: options.broker.adminToken,
    scenario: oneSlotRush,
    seed: options.seed,
    holdTtlMs: 60_000,
    timeScale: 1,
  };
  log('baseline: callhold rules');
  const callhold = await runSimulation({ ...common, date: options.dates[0] });
  log(`baseline: callhold told ${callhold.told_available} available, ${callhold.told_available_then_refused} of them refused later`);
  log('baseline: naive (no holds)');
  const naive = await runSimulation({ ...common, date: options.dates[1], naive: true });
  log(`baseline: naive told ${naive.told_available} available, ${naive.told_available_then_refused} of them refused later`);
  return { scenario: oneSlotRush.name, description: oneSlotRush.description, callhold, naive };
}
