/**
 * The tools of PROTOCOL §4, each defined once: its name, the schema its arguments are
 * validated with (and, for §6.3, exported as JSON Schema from), what it does in German
 * and English, and which verb of the tool runner answers it.
 *
 * Unknown arguments are dropped (models add their own, like a placeholder `call_id`);
 * `null` counts as absent, since models send it for "not given"; a known argument of the
 * wrong shape is refused, naming it.
 * @see ../../docs/PROTOCOL.md §4
 */
import { z } from 'zod';
import type { ToolCall } from '../../machines/call-session.types.js';
import type { Language } from '../language/index.js';
import { UNSTORABLE_TEXT, UNSTORABLE_TEXT_MESSAGE } from '../protocol/storable-text.js';
import type { ToolAnswer, ToolRunner, ToolScope } from './tool-runner.js';

const text = (max = 200) =>
  z
    .string()
    .trim()
    .min(1, 'must not be empty')
    .max(max)
    .refine((value) => !UNSTORABLE_TEXT.test(value), UNSTORABLE_TEXT_MESSAGE);
const optional = <T extends z.ZodType>(schema: T) => schema.nullish().transform((value) => value ?? undefined);
const spoken = z.union([text(), z.number().transform(String)]);

type Described = Record<Language, string>;

interface ToolDefinition<S extends z.ZodType> {
  arguments: S;
  description: Described;
  /** Each argument's meaning, for the tool definitions a runtime is given. */
  parameters: Record<string, Described>;
  run(tools: ToolRunner, args: z.infer<S>, scope: ToolScope, call: ToolCall): Promise<ToolAnswer>;
}

const define = <S extends z.ZodType>(definition: ToolDefinition<S>) => definition;

const SERVICE: Described = { de: 'Die Leistung, wie der Anrufer sie nennt (z. B. "Dauerwelle")', en: 'The service as the caller names it (e.g. "perm")' };
const DATE: Described = { de: 'Datum: JJJJ-MM-TT oder wie gesagt ("morgen", "nächster Freitag")', en: 'Date: YYYY-MM-DD or as said ("tomorrow", "next friday")' };
const TIME: Described = { de: 'Uhrzeit: HH:MM oder wie gesagt ("10 Uhr", "halb drei")', en: 'Time: HH:MM or as said ("10 am", "half past two")' };
const STAFF: Described = { de: 'Gewünschte Mitarbeiterin oder gewünschter Mitarbeiter, falls genannt', en: 'The staff member the caller asked for, if any' };
const CUSTOMER_NAME: Described = { de: 'Name der Kundin oder des Kunden', en: "The customer's name" };
const PHONE: Described = { de: 'Telefonnummer; ohne Angabe die des Anrufers', en: "Phone number; the caller's number if left out" };

/** Each tool's arguments, apart from the definitions so the runner's verbs can be typed by them. */
const toolArguments = {
  get_current_context: z.object({}),
  check_customer: z.object({ phone: optional(text(32)) }),
  list_services: z.object({}),
  check_availability: z.object({ service: text(), date: spoken, time: spoken, staff: optional(text()), customer_name: optional(text()) }),
  book_appointment: z.object({
    customer_name: text(),
    phone: optional(text(32)),
    service: optional(text()),
    date: optional(spoken),
    time: optional(spoken),
    staff: optional(text()),
  }),
  release_hold: z.object({}),
  cancel_appointment: z
    .object({ appointment_id: optional(text(64)), date: optional(spoken), time: optional(spoken) })
    .refine((args) => args.appointment_id !== undefined || (args.date !== undefined && args.time !== undefined), {
      message: 'give appointment_id, or date and time',
      path: ['appointment_id'],
    }),
};

export const toolDefinitions: { [N in ToolName]: ToolDefinition<(typeof toolArguments)[N]> } = {
  get_current_context: define({
    arguments: toolArguments.get_current_context,
    description: {
      de: 'Liefert Datum, Wochentag, Uhrzeit und Zeitzone des Salons, seinen Namen und die Nummer des Anrufers. Zu Beginn des Gesprächs aufrufen.',
      en: "Returns the salon's date, weekday, time and time zone, its name and the caller's number. Call it at the start of the call.",
    },
    parameters: {},
    run: (tools, _args, scope) => tools.currentContext(scope),
  }),
  check_customer: define({
    arguments: toolArguments.check_customer,
    description: {
      de: 'Prüft, ob der Anrufer Kunde ist, und nennt seine kommenden Termine.',
      en: 'Checks whether the caller is a known customer and lists their upcoming appointments.',
    },
    parameters: { phone: PHONE },
    run: (tools, args, scope) => tools.checkCustomer(args, scope),
  }),
  list_services: define({
    arguments: toolArguments.list_services,
    description: { de: 'Nennt die Leistungen des Salons mit ihrer Dauer.', en: "Lists the salon's services with their duration." },
    parameters: {},
    run: (tools, _args, scope) => tools.listServices(scope),
  }),
  check_availability: define({
    arguments: toolArguments.check_availability,
    description: {
      de: 'Prüft, ob ein Termin frei ist, und hält ihn sofort für den Anrufer fest. Ist er nicht frei, enthält die Antwort bis zu drei freie Alternativen.',
      en: 'Checks whether a slot is free and holds it for the caller at once. If it is not free, the answer carries up to three free alternatives.',
    },
    parameters: { service: SERVICE, date: DATE, time: TIME, staff: STAFF, customer_name: CUSTOMER_NAME },
    run: (tools, args, scope, call) => tools.checkAvailability(args, scope, call),
  }),
  book_appointment: define({
    arguments: toolArguments.book_appointment,
    description: {
      de: 'Bucht den festgehaltenen Termin. Mit Leistung, Datum und Uhrzeit bucht es direkt. Ist der Termin weg, enthält die Antwort Alternativen.',
      en: 'Books the held slot. Given service, date and time it books directly. If the slot is gone, the answer carries alternatives.',
    },
    parameters: { customer_name: CUSTOMER_NAME, phone: PHONE, service: SERVICE, date: DATE, time: TIME, staff: STAFF },
    run: (tools, args, scope, call) => tools.bookAppointment(args, scope, call),
  }),
  release_hold: define({
    arguments: toolArguments.release_hold,
    description: { de: 'Gibt den festgehaltenen Termin wieder frei, wenn der Anrufer ihn nicht möchte.', en: 'Releases the held slot when the caller does not want it.' },
    parameters: {},
    run: (tools, _args, scope) => tools.releaseHold(scope),
  }),
  cancel_appointment: define({
    arguments: toolArguments.cancel_appointment,
    description: {
      de: 'Storniert einen Termin, der unter der Nummer des Anrufers gebucht ist (per ID oder Datum und Uhrzeit).',
      en: "Cancels an appointment booked under the caller's number (by id, or by date and time).",
    },
    parameters: {
      appointment_id: { de: 'ID des Termins', en: 'The appointment id' },
      date: DATE,
      time: TIME,
    },
    run: (tools, args, scope) => tools.cancelAppointment(args, scope),
  }),
};

export type ToolName = keyof typeof toolArguments;
export type ToolArguments<N extends ToolName> = z.infer<(typeof toolArguments)[N]>;
export const isToolName = (name: string): name is ToolName => Object.hasOwn(toolDefinitions, name);
