/** The salon as the booking domain sees it: who works when, and what takes how long. */
/** Opening hours by weekday key (`mon`..`sun`), each a list of `[HH:MM, HH:MM]` windows. */
export type WeeklyHours = Record<string, Array<[string, string]>>;

export interface Phase {
  minutes: number;
  staff_busy: boolean;
  label?: string | undefined;
}

export interface StaffMember {
  id: string;
  name: string;
  /** Overrides the tenant's hours when set. */
  openingHours: WeeklyHours | null;
  services: string[];
}

export interface Service {
  id: string;
  name: string;
  aliases: string[];
  phases: Phase[];
}

export interface Catalog {
  tenantId: string;
  name: string;
  timezone: string;
  slotStepMin: number;
  openingHours: WeeklyHours;
  closedDates: string[];
  /** In catalog order, which is also the tie-break order when choosing staff. */
  staff: StaffMember[];
  services: Service[];
}

export interface Customer {
  name: string;
  phone: string;
}

export const serviceDurationMin = (service: Service): number =>
  service.phases.reduce((total, phase) => total + phase.minutes, 0);

export const staffOffering = (catalog: Catalog, serviceId: string): StaffMember[] =>
  catalog.staff.filter((member) => member.services.includes(serviceId));
