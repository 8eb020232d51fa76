/**
 * Domain events for appointments changed outside a call: the salon's front desk cancels
 * or moves an appointment, or books one. The booking domain publishes them after the
 * change is committed; the session layer subscribes to tell a live call that owns the
 * appointment (`appointment.updated`, PROTOCOL §3 and §7), and a calendar outbox may
 * subscribe later. No transport here: listeners decide what a change means to them.
 */
import type { AppointmentRecord } from './ports.js';

export type AppointmentChangeType = 'appointment.booked' | 'appointment.cancelled' | 'appointment.moved';

export interface AppointmentChange {
  type: AppointmentChangeType;
  tenantId: string;
  /** The call that booked the appointment (the session is keyed by tenant and call id); null for the front desk's own. */
  callId: string | null;
  /** The appointment as it is now: `status: 'cancelled'`, or at its new time and staff. */
  appointment: AppointmentRecord;
  /** For `appointment.moved`: where it was before. */
  previous: AppointmentRecord | null;
  at: Date;
}

export type AppointmentChangeListener = (change: AppointmentChange) => void;

/** The port: publish from the domain, subscribe from the session layer (or anyone else). */
export interface AppointmentChanges {
  publish(change: AppointmentChange): void;
  /** Returns an unsubscribe. */
  subscribe(listener: AppointmentChangeListener): () => void;
}

/** In-process delivery, one per broker. A listener that throws is dropped; the others and the request go on. */
export class AppointmentChangeFeed implements AppointmentChanges {
  private readonly listeners = new Set<AppointmentChangeListener>();

  constructor(private readonly onListenerError: (error: unknown, change: AppointmentChange) => void = () => {}) {}

  subscribe(listener: AppointmentChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  publish(change: AppointmentChange): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(change);
      } catch (error) {
        this.listeners.delete(listener);
        this.onListenerError(error, change);
      }
    }
  }
}
