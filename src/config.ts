/**
 * Configuration from the environment (PROTOCOL §1), validated once at start.
 * A bad value stops the start with a message naming the variable.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { z } from 'zod';
import { BrokerError } from './errors.js';

const seconds = (fallback: number) => z.coerce.number().int().positive().default(fallback);

const environmentSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  HOST: z.string().min(1).default('127.0.0.1'),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must start with postgres:// or postgresql://')
    .optional(),
  DATA_DIR: z.string().min(1).default('./data'),
  ADMIN_TOKEN: z.string().min(8, 'must be at least 8 characters').optional(),
  HOLD_TTL_S: seconds(60),
  HOLD_MAX_S: seconds(600),
  RESUME_GRACE_S: seconds(30),
  START_TIMEOUT_S: seconds(10),
  MAX_FRAMES_PER_S: z.coerce.number().int().positive().default(50),
  MAX_BUFFERED_KB: z.coerce.number().int().positive().default(1024),
  MAX_LIVE_SESSIONS: z.coerce.number().int().positive().default(20_000),
  CALCOM_BASE_URL: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).default('https://api.cal.com/v2'),
  OPENAI_BASE_URL: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).default('https://api.openai.com/v1'),
  OPENAI_REALTIME_URL: z.url({ protocol: /^wss?$/, error: 'must be a ws(s) URL' }).default('wss://api.openai.com/v1/realtime'),
  HTTP_SESSION_IDLE_S: seconds(300),
  INSTANCE_ID: z
    .string()
    .regex(/^[A-Za-z0-9._:-]{1,100}$/, 'must be 1–100 letters, digits or . _ : -')
    .optional(),
  INSTANCE_LEASE_S: seconds(10),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export interface Config {
  port: number;
  host: string;
  databaseUrl: string | undefined;
  dataDir: string;
  adminToken: string | undefined;
  holdTtlMs: number;
  holdMaxMs: number;
  resumeGraceMs: number;
  startTimeoutMs: number;
  maxFramesPerS: number;
  maxBufferedBytes: number;
  maxLiveSessions: number;
  /** PROTOCOL §6.2: a session driven by HTTP tool webhooks that hears nothing this long ends as `dropped`. */
  httpSessionIdleMs: number;
  logLevel: string;
  /** Cal.com API base for calendar sync (PROTOCOL §7), without a trailing slash. */
  calcomBaseUrl: string;
  /** OpenAI's REST base (call accept), without a trailing slash. */
  openAiBaseUrl: string;
  /** The Realtime sideband WebSocket; `?call_id=` is appended. */
  openAiRealtimeUrl: string;
  /** This instance's name in session ownership (PROTOCOL §3); unique among the instances on one database. */
  instanceId: string;
  /** An instance silent this long is taken for dead: others adopt its live sessions. */
  instanceLeaseMs: number;
}

/** Reads and checks the environment; throws a BrokerError `INVALID_CONFIG` naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const blankAsUnset = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ''));
  const parsed = environmentSchema.safeParse(blankAsUnset);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new BrokerError('INVALID_CONFIG', `invalid configuration: ${problems.join('; ')}`);
  }
  const e = parsed.data;
  if (e.HOLD_MAX_S < e.HOLD_TTL_S) {
    throw new BrokerError('INVALID_CONFIG', 'invalid configuration: HOLD_MAX_S: must not be less than HOLD_TTL_S');
  }
  return {
    port: e.PORT,
    host: e.HOST,
    databaseUrl: e.DATABASE_URL,
    dataDir: e.DATA_DIR,
    adminToken: e.ADMIN_TOKEN,
    holdTtlMs: e.HOLD_TTL_S * 1000,
    holdMaxMs: e.HOLD_MAX_S * 1000,
    resumeGraceMs: e.RESUME_GRACE_S * 1000,
    startTimeoutMs: e.START_TIMEOUT_S * 1000,
    maxFramesPerS: e.MAX_FRAMES_PER_S,
    maxBufferedBytes: e.MAX_BUFFERED_KB * 1024,
    maxLiveSessions: e.MAX_LIVE_SESSIONS,
    httpSessionIdleMs: e.HTTP_SESSION_IDLE_S * 1000,
    logLevel: e.LOG_LEVEL,
    calcomBaseUrl: e.CALCOM_BASE_URL.replace(/\/+$/, ''),
    openAiBaseUrl: e.OPENAI_BASE_URL.replace(/\/+$/, ''),
    openAiRealtimeUrl: e.OPENAI_REALTIME_URL,
    // Generated: unique per process, so two instances never share one by accident.
    instanceId: e.INSTANCE_ID ?? `${hostname().replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 60)}-${randomBytes(4).toString('hex')}`,
    instanceLeaseMs: e.INSTANCE_LEASE_S * 1000,
  };
}
