/**
 * Arguments of each tool (PROTOCOL §4). Unknown arguments are dropped (models add their
 * own, like a placeholder `call_id`); `null` counts as absent, since models send it for
 * "not given"; a known argument of the wrong shape is refused, naming it.
 */
import { z } from 'zod';
import { UNSTORABLE_TEXT, UNSTORABLE_TEXT_MESSAGE } from '../protocol/storable-text.js';

const text = (max = 200) =>
  z
    .string()
    .trim()
    .min(1, 'must not be empty')
    .max(max)
    .refine((value) => !UNSTORABLE_TEXT.test(value), UNSTORABLE_TEXT_MESSAGE);
const optional = <T extends z.ZodType>(schema: T) => schema.nullish().transform((value) => value ?? undefined);
const spoken = z.union([text(), z.number().transform(String)]);

export const toolArgumentSchemas = {
  get_current_context: z.object({}),
  check_customer: z.object({ phone: optional(text(32)) }),
  list_services: z.object({}),
  check_availability: z.object({
    service: text(),
    date: spoken,
    time: spoken,
    staff: optional(text()),
    customer_name: optional(text()),
  }),
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
} as const;

export type ToolName = keyof typeof toolArgumentSchemas;
export type ToolArguments<N extends ToolName> = z.infer<(typeof toolArgumentSchemas)[N]>;
export const isToolName = (name: string): name is ToolName => Object.hasOwn(toolArgumentSchemas, name);
